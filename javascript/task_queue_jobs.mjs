// Task Scheduler: the Task Queue tab's "Jobs" section (sweeps, whole-job actions, keep /
// discard, follow-ups) and the "Queue as sweep" dialog.
//
// The tab mounts it with its own API client (task_queue_api.mjs), so a page has one:
// `mountJobs(host, {api})`. It opens no long-poll of its own: the tab calls `refresh()` when the
// queue's revision changes (its one /wait), as it does for the Saved section. The Queue button's
// classic script reaches `openSweepDialog` through `window.taskSchedulerJobs`, which the tab
// publishes with the same client. Its look is in style.css (.tsj-*). Every piece of user text
// (job names, prompts, infotexts) goes into the page with textContent only.

import {button, clear, h} from "./task_queue_dom.mjs";

const JOBS_PAGE = 20;
const AXIS_TYPES = [
    ["prompt", "Prompts (one per line)"],
    ["prompt_sr", "Prompt S/R (search first)"],
    ["checkpoint", "Checkpoints"],
    ["seed", "Seeds (1-10, list)"],
    ["cfg_scale", "CFG scale"],
    ["steps", "Steps"],
    ["sampler_name", "Sampler"],
    ["scheduler", "Scheduler"],
    ["size", "Sizes (512x768)"],
    ["denoising_strength", "Denoising strength"],
    ["enable_hr", "Hires fix (on, off)"],
    ["lora", "LoRA weight"],
    ["param", "Other parameter"],
];
const NAMED_AXES = new Set(["lora", "param"]);

// -- helpers ------------------------------------------------------------------------------------

function btn(label, onclick, extra) {
    // the tab's own (WebUI-themed) tsq-btn, plus the section's tsj-btn
    const el = button(label, onclick, {...(extra || {}), class: (extra && extra.class) || "tsj-btn"});
    el.classList.add("tsq-btn");
    return el;
}

/** An API error as this section words it: every problem (the check's come all at once), with
 * its full location and, for a sweep, the tasks it touches. */
function describe(err) {
    const detail = err && err.detail;
    if (Array.isArray(detail) && detail.length && detail[0].msg) {
        return detail.map((item) => {
            const where = (item.loc || []).filter((p) => p !== "body").join(".");
            const tasks = item.tasks > 1 ? " (" + item.tasks + " tasks)" : "";
            return (where ? where + ": " : "") + item.msg + tasks;
        }).join("\n");
    }
    if (typeof detail === "string") return detail;
    return err && err.status ? "HTTP " + err.status : (err && err.message) || String(err);
}

const STATUS_TEXT = {
    empty: "empty",
    pending: "pending",
    running: "running",
    done: "done",
    done_with_failures: "done with failures",
    cancelled: "cancelled",
};

function countsText(job) {
    const c = job.counts || {};
    const finished = (c.done || 0) + (c.failed || 0) + (c.interrupted || 0) + (c.cancelled || 0);
    const parts = [finished + " of " + (c.total || 0) + " finished"];
    if (c.failed || c.interrupted) parts.push((c.failed || 0) + (c.interrupted || 0) + " failed");
    if (c.cancelled) parts.push(c.cancelled + " cancelled");
    if (job.images) parts.push(job.images + " images");
    if (job.kept) parts.push(job.kept + " kept");
    if (job.discarded) parts.push(job.discarded + " discarded");
    return parts.join(" · ");
}

function originText(job) {
    const origin = job.origin || {};
    if (origin.type === "sweep") {
        const axes = (origin.axes || []).map((a) => (a.name ? a.type + " " + a.name : a.type) + " ×" + a.values.length);
        return "sweep (" + (origin.mode || "cartesian") + "): " + axes.join(", ");
    }
    if (origin.type === "followup") {
        return origin.action + " of " + (origin.images || []).length + " images of job " + String(origin.source_job).slice(0, 8);
    }
    return "";
}

// -- the sweep dialog --------------------------------------------------------------------------

function axisRow(onChange, initial) {
    initial = initial || {};
    const type = h("select", {class: "tsj-axis-type", onchange: () => { sync(); onChange(); }},
        AXIS_TYPES.map(([value, label]) => h("option", {value, text: label, selected: value === initial.type})));
    const name = h("input", {class: "tsj-axis-name", placeholder: "name", size: 10, oninput: onChange,
        value: initial.name || ""});
    const values = h("textarea", {class: "tsj-axis-values", rows: 1, cols: 34, placeholder: "values",
        oninput: onChange, value: initial.values || ""});
    const group = h("input", {class: "tsj-axis-group", placeholder: "zip group", size: 6, oninput: onChange,
        value: initial.group || ""});
    const row = h("div", {class: "tsj-row tsj-axis"}, type, name, values, group,
        btn("✕", () => { row.remove(); onChange(); }, {title: "Remove this axis"}));
    function sync() {
        name.style.display = NAMED_AXES.has(type.value) ? "" : "none";
        values.rows = type.value === "prompt" ? 3 : 1;
    }
    sync();
    row.read = () => {
        const axis = {type: type.value};
        const text = values.value;
        if (type.value === "seed" && /^\s*random\s+\d+\s*$/i.test(text)) axis.random = parseInt(text.trim().split(/\s+/)[1], 10);
        else if (type.value === "checkpoint" && /^\s*folder:/i.test(text)) axis.folder = text.replace(/^\s*folder:/i, "").trim();
        else axis.values = text;
        if (NAMED_AXES.has(type.value)) axis.name = name.value.trim();
        if (group.value.trim()) axis.group = group.value.trim();
        return axis;
    };
    return row;
}

/** The check's problems of a sweep, one line per axis value: what, where, how many tasks. */
function problemItems(problems) {
    return problems.map((p) => h("li", {
        class: "tsj-problem tsj-problem-" + p.severity,
        text: (p.severity === "error" ? "✖ " : "⚠ ") + (p.axis && p.axis !== p.field ? p.axis + " · " : "") + p.field + ": " + p.message
            + " — " + p.tasks + (p.tasks === 1 ? " task" : " tasks"),
    }));
}

/**
 * A modal form: base, axes, mode, a live count (dry run) with the check's problems per axis value,
 * and "Queue N tasks" (held back while the check finds errors).
 *
 * options: {api (the page's client), fromTask, prompt, name, getBase: () => body-part,
 *           submit: async (spec) => job, onQueued: (job) => void}. Without `submit`, POST /jobs
 *           with the base and the axes.
 */
function openSweepDialog(options) {
    options = options || {};
    const api = options.api;
    let timer = null;
    let seq = 0;
    const rows = h("div", {class: "tsj-axes"});
    const count = h("span", {class: "tsj-count", text: ""});
    const error = h("div", {class: "tsj-error", role: "alert"});
    const problems = h("ul", {class: "tsj-problems", "aria-label": "Problems the check found"});
    const preview = h("ol", {class: "tsj-preview tsj-meta"});
    const name = h("input", {class: "tsj-sweep-name", placeholder: "job name", value: options.name || "", size: 30});
    const mode = h("select", {class: "tsj-mode", onchange: changed},
        h("option", {value: "cartesian", text: "every combination"}),
        h("option", {value: "zip", text: "zipped (same lengths)"}));
    const fromTask = h("input", {class: "tsj-from-task", placeholder: "task id", size: 34, value: options.fromTask || "",
        oninput: changed});
    const prompt = h("textarea", {class: "tsj-base-prompt", rows: 2, cols: 50, placeholder: "base prompt",
        value: options.prompt || "", oninput: changed});
    const go = btn("Queue", submit, {class: "tsj-btn tsj-queue-sweep", disabled: true});
    const baseRows = options.getBase || options.submit ? [] : [
        h("div", {class: "tsj-row"}, h("label", {text: "From task"}), fromTask),
        h("div", {class: "tsj-row"}, h("label", {text: "or prompt"}), prompt),
    ];
    const dialog = h("div", {class: "tsj-dialog", role: "dialog", "aria-label": "Queue as sweep",
        onclick: (e) => { if (e.target === dialog) close(); }},
        h("div", {},
            h("h3", {text: "Queue as sweep"}),
            h("div", {class: "tsj-row"}, h("label", {text: "Name"}), name, h("label", {text: "Mode"}), mode),
            baseRows,
            rows,
            h("div", {class: "tsj-row"}, btn("+ Axis", () => { rows.appendChild(axisRow(changed)); changed(); },
                {class: "tsj-btn tsj-add-axis"})),
            error,
            problems,
            h("div", {class: "tsj-row"}, count, go, btn("Cancel", close)),
            preview));
    for (const axis of options.axes || [{type: "prompt"}]) rows.appendChild(axisRow(changed, axis));
    document.body.appendChild(dialog);

    function spec() {
        return {
            name: name.value.trim() || undefined,
            mode: mode.value,
            axes: Array.from(rows.children).map((row) => row.read()),
        };
    }
    function base() {
        if (options.getBase) return options.getBase();
        if (fromTask.value.trim()) return {from_task: fromTask.value.trim()};
        return {base: {prompt: prompt.value}};
    }
    function changed() {
        clearTimeout(timer);
        go.disabled = true;
        timer = setTimeout(countNow, 300);
    }
    async function countNow() {
        const mine = ++seq;
        try {
            const data = await api("/jobs", {method: "POST", body: {...base(), ...spec(), dry_run: true, preview: 3}});
            if (mine !== seq) return;
            const found = data.problems || [];
            const errors = found.filter((p) => p.severity === "error").length;
            error.textContent = data.over_limit ? "More than the limit of " + data.max_tasks + " tasks"
                : errors ? "Fix " + (errors === 1 ? "this error" : "these " + errors + " errors") + " to queue the sweep" : "";
            clear(problems);
            for (const item of problemItems(found)) problems.appendChild(item);
            count.textContent = data.count + (data.count === 1 ? " task" : " tasks");
            go.textContent = "Queue " + data.count + " tasks";
            go.disabled = data.over_limit || errors > 0;
            clear(preview);
            for (const item of data.preview) preview.appendChild(h("li", {text: item.name}));
        } catch (err) {
            if (mine !== seq) return;
            error.textContent = describe(err);
            count.textContent = "";
            clear(preview);
            clear(problems);
        }
    }
    async function submit() {
        go.disabled = true;
        try {
            const job = options.submit
                ? await options.submit(spec())
                : await api("/jobs", {method: "POST", body: {...base(), ...spec()}});
            close();
            if (options.onQueued) options.onQueued(job);
        } catch (err) {
            error.textContent = describe(err);
            go.disabled = false;
        }
    }
    function close() {
        clearTimeout(timer);
        dialog.remove();
    }
    changed();
    return {close, element: dialog, count: countNow};
}

// -- the jobs view ----------------------------------------------------------------------------------

function mountJobs(root, options) {
    const api = options.api;
    const state = {jobs: [], total: 0, offset: 0, open: null, images: [], selected: new Set(), error: ""};
    const ui = {
        error: h("div", {class: "tsj-error", role: "alert"}),
        list: h("div", {class: "tsj-list"}),
        pager: h("div", {class: "tsj-bar tsj-pager"}),
        detail: h("div", {class: "tsj-detail"}),
    };
    clear(root);
    root.classList.add("tsj-root");
    root.append(
        h("div", {class: "tsj-bar"},
            h("strong", {text: "Jobs"}),
            btn("New sweep…", () => openSweepDialog({api, onQueued: (job) => { state.open = job.id; refresh(); }}),
                {class: "tsj-btn tsj-new-sweep"}),
            btn("Refresh", () => refresh())),
        ui.error, ui.list, ui.pager, ui.detail);

    async function act(promise) {
        try {
            const result = await promise;
            state.error = "";
            return result;
        } catch (err) {
            state.error = describe(err);
            return undefined;
        } finally {
            await refresh();
        }
    }

    async function refresh() {
        try {
            const page = await api("/jobs?limit=" + JOBS_PAGE + "&offset=" + state.offset);
            state.jobs = page.jobs;
            state.total = page.total;
            if (state.open) {
                const [job, images] = await Promise.all([
                    api("/jobs/" + state.open),
                    api("/jobs/" + state.open + "/images"),
                ]);
                state.openJob = job;
                state.images = images.images;
            }
        } catch (err) {
            if (err.status === 404 && state.open) {
                state.open = null;
                state.openJob = null;
            } else {
                state.error = describe(err);
            }
        }
        render();
    }

    function render() {
        ui.error.textContent = state.error;
        clear(ui.list);
        if (!state.jobs.length) ui.list.appendChild(h("div", {class: "tsj-meta", text: "No jobs yet."}));
        for (const job of state.jobs) ui.list.appendChild(jobRow(job));
        clear(ui.pager);
        if (state.total > JOBS_PAGE) {
            ui.pager.append(
                btn("‹", () => { state.offset = Math.max(0, state.offset - JOBS_PAGE); refresh(); },
                    {disabled: state.offset === 0}),
                h("span", {text: (state.offset + 1) + "–" + Math.min(state.total, state.offset + JOBS_PAGE) + " of " + state.total}),
                btn("›", () => { state.offset += JOBS_PAGE; refresh(); },
                    {disabled: state.offset + JOBS_PAGE >= state.total}));
        }
        renderDetail();
        root.dataset.ready = "1";
    }

    /** "round 2 of 3" / "round 4, until stopped" / "starts Sat 01:00": when and how often it runs. */
    function scheduleBadge(job) {
        const parts = [];
        const r = job.repeat;
        if (r) parts.push("round " + r.round + (r.stopped ? " (last)" : r.until_stopped ? ", until stopped" : " of " + r.times));
        if (job.not_before && new Date(job.not_before).getTime() > Date.now() && (job.counts || {}).pending) {
            const at = new Date(job.not_before);
            parts.push("starts " + at.toLocaleDateString([], {weekday: "short"}) + " " + at.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"}));
        }
        return parts.length ? h("span", {class: "tsj-badge tsj-schedule", text: parts.join(" · ")}) : null;
    }

    function jobRow(job) {
        const c = job.counts || {};
        const failures = (c.failed || 0) + (c.interrupted || 0);
        const path = "/jobs/" + job.id;
        const actions = h("div", {class: "tsj-bar"},
            job.held
                ? btn("Resume", () => act(api(path + "/resume", {method: "POST"})), {class: "tsj-btn tsj-resume"})
                : btn("Pause", () => act(api(path + "/pause", {method: "POST"})),
                    {class: "tsj-btn tsj-pause", disabled: !c.pending}),
            btn("Top", () => act(api(path + "/move-to-top", {method: "POST"})), {class: "tsj-btn tsj-top", disabled: !c.pending}),
            btn("Cancel", () => act(api(path + "/cancel", {method: "POST"})),
                {class: "tsj-btn tsj-cancel", disabled: !c.pending && !c.running}),
            failures ? btn("Requeue failed", () => act(api(path + "/requeue-failed", {method: "POST"})),
                {class: "tsj-btn tsj-requeue"}) : null,
            job.repeat && !job.repeat.stopped
                ? btn("Stop repeating", () => act(api(path + "/stop-repeating", {method: "POST"})),
                    {class: "tsj-btn tsj-stop-repeating", title: "No further round; nothing is deleted"})
                : null,
            h("a", {class: "tsj-btn tsj-zip", href: api.base + path + "/images.zip", text: "Zip", download: ""}),
            btn("Delete", () => {
                if (!window.confirm("Delete the job '" + (job.name || job.id) + "' and its tasks? Its images stay on disk.")) return;
                act(api(path, {method: "DELETE"}));
            }, {class: "tsj-btn tsj-danger tsj-delete", disabled: !!c.running}),
            btn("Delete with images", () => {
                if (!window.confirm("Delete the job '" + (job.name || job.id) + "', its tasks and its " + job.images + " image files?")) return;
                act(api(path + "?delete_images=true", {method: "DELETE"}));
            }, {class: "tsj-btn tsj-danger tsj-delete-images", disabled: !!c.running}));
        const open = () => {
            state.open = state.open === job.id ? null : job.id;
            state.selected.clear();
            refresh();
        };
        return h("div", {class: "tsj-job" + (state.open === job.id ? " tsj-open" : ""), dataset: {jobId: job.id, status: job.status}},
            h("div", {},
                h("span", {class: "tsj-name", text: job.name || job.id.slice(0, 8), onclick: open, role: "button", tabIndex: 0,
                    onkeydown: (e) => { if (e.key === "Enter") open(); }}),
                h("span", {class: "tsj-badge tsj-status", text: STATUS_TEXT[job.status] || job.status}),
                job.held ? h("span", {class: "tsj-badge tsj-held", text: "paused"}) : null,
                scheduleBadge(job),
                h("div", {class: "tsj-meta tsj-counts", text: countsText(job)}),
                h("div", {class: "tsj-meta", text: originText(job)})),
            actions,
            h("div", {class: "tsj-progress"}, h("div", {style: "width:" + Math.round((job.progress || 0) * 100) + "%"})));
    }

    function renderDetail() {
        clear(ui.detail);
        const job = state.openJob;
        if (!state.open || !job) return;
        const path = "/jobs/" + job.id;
        const keys = (list) => list.map((i) => ({task_id: i.task_id, index: i.index}));
        const chosen = () => state.images.filter((i) => state.selected.has(i.task_id + ":" + i.index));
        const mark = (images, value) => act(api(path + "/images/mark", {method: "POST", body: {images: keys(images), mark: value}}));
        const grid = h("div", {class: "tsj-grid"});
        for (const image of state.images) {
            const key = image.task_id + ":" + image.index;
            const checkbox = h("input", {type: "checkbox", class: "tsj-select", checked: state.selected.has(key),
                onchange: () => { if (checkbox.checked) state.selected.add(key); else state.selected.delete(key); }});
            grid.appendChild(h("div", {class: "tsj-cell" + (image.mark ? " tsj-" + image.mark : ""), dataset: {key, mark: image.mark || ""},
                title: image.infotext || image.name},
                image.exists ? h("img", {src: image.thumbnail_url, alt: image.name, loading: "lazy"})
                    : h("div", {class: "tsj-meta", text: "(file deleted)"}),
                h("div", {class: "tsj-bar"},
                    checkbox,
                    btn("Keep", () => mark([image], image.mark === "kept" ? null : "kept"), {class: "tsj-btn tsj-keep"}),
                    btn("Discard", () => mark([image], image.mark === "discarded" ? null : "discarded"), {class: "tsj-btn tsj-discard"}))));
        }
        const discarded = state.images.filter((i) => i.mark === "discarded" && i.exists).length;
        if (!state.images.length) {
            ui.detail.append(h("div", {class: "tsj-bar"}, h("strong", {text: job.name || job.id}),
                h("span", {class: "tsj-meta", text: countsText(job) + " · no images yet"})));
            return;
        }
        ui.detail.append(
            h("div", {class: "tsj-bar"},
                h("strong", {text: job.name || job.id}),
                h("span", {class: "tsj-meta", text: countsText(job)}),
                btn("Keep selected", () => mark(chosen(), "kept")),
                btn("Discard selected", () => mark(chosen(), "discarded")),
                btn("Delete " + discarded + " discarded files", () => {
                    if (!window.confirm("Delete " + discarded + " discarded image files from disk?")) return;
                    act(api(path + "/images/delete-discarded", {method: "POST"}));
                }, {class: "tsj-btn tsj-danger tsj-delete-discarded", disabled: !discarded})),
            grid,
            panelFor(job, chosen));
    }

    // the follow-up form survives redraws (a finishing task must not wipe what the user typed)
    let panel = null;
    function panelFor(job, chosen) {
        if (!panel || panel.jobId !== job.id) panel = {jobId: job.id, el: followUpPanel(job, chosen)};
        return panel.el;
    }

    function followUpPanel(job, chosen) {
        const action = h("select", {class: "tsj-fu-action"},
            h("option", {value: "img2img", text: "img2img"}), h("option", {value: "upscale", text: "upscale"}));
        const denoise = h("input", {class: "tsj-fu-denoise", value: "0.4", size: 14, title: "one task per value: 0.3, 0.45, 0.6"});
        const scale = h("select", {class: "tsj-fu-scale"},
            ["1", "1.5", "2"].map((v) => h("option", {value: v, text: "×" + v})));
        const steps = h("input", {class: "tsj-fu-steps", type: "number", min: 1, placeholder: "steps", size: 5});
        const upscaler = h("input", {class: "tsj-fu-upscaler", value: "Lanczos", size: 14});
        const onlySelected = h("input", {type: "checkbox", class: "tsj-fu-selected"});
        const note = h("span", {class: "tsj-meta tsj-fu-count"});
        const body = () => {
            const data = {action: action.value};
            if (onlySelected.checked) data.images = chosen().map((i) => ({task_id: i.task_id, index: i.index}));
            if (action.value === "img2img") {
                data.denoising_strength = denoise.value;
                if (scale.value !== "1") data.scale = parseFloat(scale.value);
                if (steps.value) data.steps = parseInt(steps.value, 10);
            } else {
                data.scale = Math.max(1, parseFloat(scale.value));
                data.upscaler = upscaler.value.trim() || "Lanczos";
            }
            return data;
        };
        const sync = () => {
            denoise.style.display = steps.style.display = action.value === "img2img" ? "" : "none";
            upscaler.style.display = action.value === "upscale" ? "" : "none";
        };
        action.addEventListener("change", sync);
        sync();
        const path = "/jobs/" + job.id + "/follow-ups";
        return h("div", {class: "tsj-panel"},
            h("strong", {text: "Take further (every image not discarded)"}),
            h("div", {class: "tsj-row"}, action, h("label", {text: "denoise"}), denoise, h("label", {text: "size"}), scale,
                steps, upscaler, h("label", {}, onlySelected, " only selected")),
            h("div", {class: "tsj-row"},
                btn("Count", async () => {
                    try {
                        const data = await api(path, {method: "POST", body: {...body(), dry_run: true}});
                        const found = (data.problems || []).map((p) => (p.severity === "error" ? "✖ " : "⚠ ") + p.field + ": " + p.message);
                        note.textContent = [data.count + " tasks", ...found].join(" · ");
                    } catch (err) {
                        note.textContent = describe(err);
                    }
                }, {class: "tsj-btn tsj-fu-dry"}),
                btn("Queue follow-up job", async () => {
                    const job = await act(api(path, {method: "POST", body: body()}));
                    if (job) {
                        state.open = job.id;
                        state.selected.clear();
                        await refresh();
                    }
                }, {class: "tsj-btn tsj-fu-go"}),
                note));
    }

    refresh();
    return {
        refresh,
        open: (jobId) => { state.open = jobId; return refresh(); },
        destroy: () => clear(root),
        state,
    };
}

export {mountJobs, openSweepDialog};
