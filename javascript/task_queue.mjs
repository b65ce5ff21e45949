// Task Scheduler: the "Task Queue" tab. One vanilla ES module, no build step.
//
// It talks only to the queue's HTTP API (/task-scheduler/v1) with fetch, keeps one `state`
// object, and redraws only what changed: rows are keyed by task id and rebuilt only when their
// own data changed, so scroll position, focus and selection survive every update. Updates come
// from a long-poll on the queue's revision (/wait), never from a timer hammering the server;
// only the running task's progress is polled, once a second, while one runs (inside the WebUI
// its own progress bar and live preview do that instead).
//
// Every piece of user text (prompt, name, error, infotext) goes into the page with textContent:
// nothing from a task is ever parsed as HTML.
//
// Mounted into #task-scheduler-tab (the WebUI tab, task_scheduler/webui/tab.py) or
// #task-scheduler-standalone (the standalone server's page); `window.taskQueue.mount(el)` too.

import {ApiError, createApi, fieldOf} from "./task_queue_api.mjs";
import {append, button, clear, h, preview} from "./task_queue_dom.mjs";
import {mountJobs, openSweepDialog} from "./task_queue_jobs.mjs";
import {mountSaved} from "./task_queue_saved.mjs";

const CONTAINER_IDS = ["task-scheduler-tab", "task-scheduler-standalone"];
const WAIT_TIMEOUT_S = 25;
const PENDING_PAGE = 200;
const HISTORY_PAGE = 50;
const PROGRESS_POLL_MS = 1000;
const STATUSES = ["done", "failed", "interrupted", "cancelled"];
const EDIT_FIELDS = [
    // [param, label, kind, min, max, "if-present": only for tasks whose params have it]
    ["prompt", "Prompt", "textarea"],
    ["negative_prompt", "Negative prompt", "textarea"],
    ["checkpoint", "Checkpoint", "checkpoint"],
    ["sampler_name", "Sampler", "sampler"],
    ["steps", "Steps", "int", 1, 10000],
    ["cfg_scale", "CFG scale", "float", 0, 100],
    ["width", "Width", "int", 8, 65536],
    ["height", "Height", "int", 8, 65536],
    ["seed", "Seed", "int", -1, 4294967295],
    ["batch_size", "Batch size", "int", 1, 1000],
    ["n_iter", "Batch count", "int", 1, 10000],
    // Forge / Forge Neo only: shown for tasks that carry them (A1111 has no such control)
    ["distilled_cfg_scale", "Distilled CFG", "float", 0, 100, "if-present"],
    ["hr_cfg", "Hires CFG", "float", 0, 100, "if-present"],
    ["hr_distilled_cfg", "Hires distilled CFG", "float", 0, 100, "if-present"],
];

// -- formatting -------------------------------------------------------------------------------

function duration(seconds) {
    if (seconds === null || seconds === undefined || !isFinite(seconds)) return "";
    seconds = Math.max(0, Math.round(seconds));
    if (seconds < 60) return seconds + " s";
    const minutes = Math.round(seconds / 60);
    if (minutes < 60) return minutes + " min";
    const hours = Math.floor(minutes / 60);
    return hours + " h " + (minutes % 60) + " min";
}

function when(iso) {
    if (!iso) return "";
    const date = new Date(iso);
    const now = new Date();
    const sameDay = date.toDateString() === now.toDateString();
    return sameDay ? date.toLocaleTimeString() : date.toLocaleString();
}

function seconds(task) {
    if (!task.started_at || !task.finished_at) return null;
    return (new Date(task.finished_at) - new Date(task.started_at)) / 1000;
}

function describeValue(value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "object") {
        if (value.$image !== undefined) {
            const size = Array.isArray(value.size) ? " " + value.size.join("×") : "";
            return "[image" + size + "]";
        }
        if (value.$file !== undefined) return "[file " + (value.name || "") + "]";
        if (value.$ndarray !== undefined) return "[array " + (value.shape || []).join("×") + "]";
        return JSON.stringify(value);
    }
    return String(value);
}

function imageCount(task) {
    if (task.status !== "pending" && task.status !== "running") {
        return task.result && Array.isArray(task.result.images) ? task.result.images.length : 0;
    }
    const p = task.params || {};
    return (Number(p.batch_size) || 1) * (Number(p.n_iter) || 1);
}

function size(task) {
    const p = task.params || {};
    return p.width && p.height ? p.width + "×" + p.height : "";
}

function title(task) {
    // a stored row the server cannot show: its id and why, so it can be found and deleted
    if (task.damaged) return "Damaged task " + task.id.slice(0, 8) + ": " + preview(task.damaged, 80);
    return task.name || preview(task.params && task.params.prompt, 60) || task.id.slice(0, 8);
}

// -- the app --------------------------------------------------------------------------------

function createApp(root, options) {
    const state = {
        revision: null,
        paused: false,
        running: [],
        pending: [],
        totalPending: 0,
        stats: null,
        pendingLimit: PENDING_PAGE,
        history: {tasks: [], total: 0, offset: 0, status: "", search: "", bookmarked: false},
        selected: {pending: new Set(), history: new Set()},
        details: null, // {id, task, index}
        editing: null, // {id, inputs, errors}
        samplers: null,
        checkpoints: null,
        error: "",
        needAuth: false,
        stopped: false,
        timings: {firstPaint: null, pageSwitch: []},
        focusHandle: null,
    };
    const rows = {pending: new Map(), history: new Map()};
    const ui = {};
    const inWebUI = () => typeof window.requestProgress === "function" && !!findWebUIBridge();
    let progressTimer = null;
    let progressFor = null;
    let webuiProgressFor = null;
    let searchTimer = null;
    let drag = null;

    const api = createApi(options.apiBase, {
        onAuth: (needed) => {
            state.needAuth = needed;
            renderNotice();
        },
    });
    const base = api.base;

    async function act(promise, after) {
        try {
            const result = await promise;
            state.error = "";
            if (after) after(result);
            return result;
        } catch (err) {
            state.error = err.message || String(err);
            return undefined;
        } finally {
            renderNotice();
            await refresh();
        }
    }

    // -- loading ------------------------------------------------------------------------------

    async function loadQueue() {
        const data = await api("/queue?limit=" + state.pendingLimit);
        state.revision = data.revision;
        state.paused = data.paused;
        state.running = data.running;
        state.pending = data.pending;
        state.totalPending = data.total_pending;
        state.stats = data.stats || null;
    }

    function historyQuery() {
        const hist = state.history;
        const params = new URLSearchParams({limit: String(HISTORY_PAGE), offset: String(hist.offset)});
        if (hist.status) params.set("status", hist.status);
        if (hist.search) params.set("search", hist.search);
        if (hist.bookmarked) params.set("bookmarked", "true");
        return "/history?" + params.toString();
    }

    async function loadHistory() {
        const data = await api(historyQuery());
        state.history.tasks = data.tasks;
        state.history.total = data.total;
        if (data.tasks.length === 0 && state.history.offset > 0 && data.total > 0) {
            state.history.offset = Math.max(0, (Math.ceil(data.total / HISTORY_PAGE) - 1) * HISTORY_PAGE);
            return loadHistory();
        }
    }

    async function refresh() {
        const wasBusy = state.running.length > 0 || state.totalPending > 0;
        try {
            await Promise.all([
                loadQueue(),
                loadHistory(),
                ui.saved && ui.savedSection.open ? ui.saved.refresh() : null,
                ui.jobs && ui.jobsSection.open ? ui.jobs.refresh() : null,
            ]);
            if (state.details) await reloadDetails();
        } catch (err) {
            if (!(err instanceof ApiError && err.status === 401)) state.error = err.message || String(err);
        }
        render();
        if (wasBusy && !state.running.length && !state.totalPending) setTimeout(checkNotice, 500);
    }

    // "When the queue runs empty: browser notification" (a WebUI setting): the extension keeps a
    // notice whose seq grows; notify once per new seq. Outside the WebUI the route is absent.
    async function checkNotice() {
        if (state.noticeSeq === false) return;
        try {
            const notice = await api("/webui/notice");
            const seq = notice ? notice.seq : 0;
            if (state.noticeSeq !== undefined && seq > state.noticeSeq) notifyDry(notice);
            state.noticeSeq = seq;
        } catch (err) {
            if (err instanceof ApiError && err.status === 404) state.noticeSeq = false;
        }
    }

    function notifyDry(notice) {
        const text = "The queue is empty: " + notice.done + " done, " + notice.failed + " failed, " + notice.interrupted + " interrupted.";
        if (window.Notification && Notification.permission === "granted") {
            new Notification("Task Queue", {body: text});
        } else {
            state.error = text;
            renderNotice();
            if (window.Notification && Notification.permission === "default") Notification.requestPermission();
        }
    }

    async function watch() {
        while (!state.stopped) {
            if (state.revision === null || state.needAuth) {
                await new Promise((resolve) => setTimeout(resolve, 2000));
                if (state.revision === null || state.needAuth) await refresh();
                continue;
            }
            try {
                const answer = await api("/wait?revision=" + state.revision + "&timeout=" + WAIT_TIMEOUT_S);
                if (answer.changed) await refresh();
            } catch (err) {
                await new Promise((resolve) => setTimeout(resolve, 3000));
            }
        }
    }

    // -- shell ---------------------------------------------------------------------------------

    function buildShell() {
        root.classList.add("tsq");
        clear(root);
        ui.notice = h("div", {class: "tsq-notice", role: "alert", hidden: true});
        ui.status = h("div", {class: "tsq-status", "aria-live": "polite"});
        ui.pause = button("Pause", () => act(api("/queue/" + (state.paused ? "resume" : "pause"), {method: "POST"})), {
            class: "tsq-btn tsq-pause",
        });
        // stop the running task after its image in progress; it waits first in line to make the rest
        ui.pauseNow = button("Pause now", () => act(api("/queue/pause?now=true", {method: "POST"})), {
            class: "tsq-btn tsq-pause-now",
            title: "Pause, and stop the running task after the image in progress: it keeps its images and makes the rest when you resume",
        });
        ui.clearQueue = button("Clear queue", () => {
            if (confirm("Delete every waiting task?")) act(api("/queue/clear", {method: "POST"}));
        });
        ui.current = h("div", {class: "tsq-current"});
        ui.header = h(
            "section",
            {class: "tsq-header"},
            h("div", {class: "tsq-header-row"}, ui.status, h("div", {class: "tsq-actions"}, ui.pause, ui.pauseNow, ui.clearQueue)),
            ui.current,
        );

        ui.pendingTools = h("div", {class: "tsq-bulk"});
        ui.pendingList = h("div", {class: "tsq-list tsq-pending-list", role: "list", "aria-label": "Waiting tasks"});
        ui.pendingMore = h("div", {class: "tsq-more"});
        ui.pendingCount = h("span", {class: "tsq-count"});
        ui.pendingSection = h(
            "section",
            {class: "tsq-section tsq-pending"},
            h("div", {class: "tsq-h", role: "heading", "aria-level": "3"}, "Waiting ", ui.pendingCount),
            ui.pendingTools,
            ui.pendingList,
            ui.pendingMore,
        );

        ui.statusFilter = h(
            "select",
            {class: "tsq-input tsq-status-filter", "aria-label": "Status", onchange: () => setHistory({status: ui.statusFilter.value})},
            h("option", {value: "", text: "All"}),
            STATUSES.map((s) => h("option", {value: s, text: s[0].toUpperCase() + s.slice(1)})),
        );
        ui.search = h("input", {
            class: "tsq-input tsq-search",
            type: "search",
            placeholder: "Search name, prompt, checkpoint",
            "aria-label": "Search the history",
            oninput: () => {
                clearTimeout(searchTimer);
                searchTimer = setTimeout(() => setHistory({search: ui.search.value.trim()}), 250);
            },
        });
        ui.bookmarked = h("input", {
            type: "checkbox",
            class: "tsq-bookmarked-filter",
            onchange: () => setHistory({bookmarked: ui.bookmarked.checked}),
        });
        ui.historyTools = h("div", {class: "tsq-bulk"});
        ui.historyList = h("div", {class: "tsq-list tsq-history-list", role: "list", "aria-label": "Finished tasks"});
        ui.pager = h("div", {class: "tsq-pager"});
        ui.historyCount = h("span", {class: "tsq-count"});
        ui.historySection = h(
            "section",
            {class: "tsq-section tsq-history"},
            h(
                "div",
                {class: "tsq-h-row"},
                h("div", {class: "tsq-h", role: "heading", "aria-level": "3"}, "History ", ui.historyCount),
                h(
                    "div",
                    {class: "tsq-actions"},
                    button("Requeue all failed", () => act(api("/tasks/requeue-failed", {method: "POST"}))),
                    button("Clear history", () => {
                        if (confirm("Delete every finished task that is not bookmarked?")) {
                            act(api("/history/clear", {method: "POST"}));
                        }
                    }),
                ),
            ),
            h(
                "div",
                {class: "tsq-filters"},
                ui.statusFilter,
                ui.search,
                h("label", {class: "tsq-check"}, ui.bookmarked, " Bookmarked"),
            ),
            ui.historyTools,
            ui.historyList,
            ui.pager,
        );
        // Jobs (sweeps, keep / discard, follow-ups): task_queue_jobs.mjs draws it, opened on demand
        ui.jobsHost = h("div", {class: "tsq-jobs-host"});
        ui.jobsSection = h(
            "details",
            {class: "tsq-section tsq-jobs", ontoggle: () => {
                if (!ui.jobsSection.open) return;
                if (ui.jobs) ui.jobs.refresh();  // closed, it missed the changes: catch up
                else ui.jobs = mountJobs(ui.jobsHost, {api});
            }},
            h("summary", {class: "tsq-h", role: "heading", "aria-level": "3"}, "Jobs"),
            ui.jobsHost,
        );
        // Saved tasks (named templates): task_queue_saved.mjs draws it, opened on demand
        ui.savedHost = h("div", {class: "tsq-saved-host"});
        ui.savedSection = h(
            "details",
            {class: "tsq-section tsq-saved", ontoggle: () => {
                if (!ui.savedSection.open || ui.saved) return;
                const bridge = findWebUIBridge();
                const load = bridge ? (id, target) => bridge.send({saved: id, target}) : null;
                ui.saved = mountSaved(ui.savedHost, {api, load});
            }},
            h("summary", {class: "tsq-h", role: "heading", "aria-level": "3"}, "Saved"),
            ui.savedHost,
        );
        ui.details = h("div", {class: "tsq-details-host"});
        ui.lightbox = h("div", {class: "tsq-lightbox", hidden: true, onclick: () => (ui.lightbox.hidden = true)});
        append(root, [ui.notice, ui.header, ui.pendingSection, ui.jobsSection, ui.savedSection, ui.historySection, ui.details, ui.lightbox]);
        root.addEventListener("keydown", (event) => {
            if (event.key !== "Escape") return;
            if (!ui.lightbox.hidden) ui.lightbox.hidden = true;
            else if (state.details) closeDetails();
        });
    }

    function setHistory(changes) {
        Object.assign(state.history, changes, {offset: changes.offset !== undefined ? changes.offset : 0});
        state.selected.history.clear();
        const started = performance.now();
        loadHistory()
            .then(() => {
                renderHistory();
                state.timings.pageSwitch.push(performance.now() - started);
            })
            .catch((err) => {
                state.error = err.message;
                renderNotice();
            });
    }

    // -- render --------------------------------------------------------------------------------

    function render() {
        renderNotice();
        renderHeader();
        renderPending();
        renderHistory();
        renderDetails();
        if (state.timings.firstPaint === null && state.revision !== null) {
            state.timings.firstPaint = performance.now() - state.timings.mountedAt;
            root.dataset.ready = "1";
            // the frame after the one that shows it: what a person sees
            requestAnimationFrame(() =>
                requestAnimationFrame(() => (state.timings.firstFrame = performance.now() - state.timings.mountedAt)),
            );
        }
    }

    function renderNotice() {
        if (!ui.notice) return;
        clear(ui.notice);
        if (state.needAuth) {
            append(ui.notice, [
                "The queue's API needs a login: sign in to the WebUI (--gradio-auth) or give the --api-auth user. ",
                button("Retry", () => refresh()),
            ]);
        } else if (state.error) {
            append(ui.notice, [state.error, " ", button("Dismiss", () => ((state.error = ""), renderNotice()))]);
        }
        ui.notice.hidden = !state.needAuth && !state.error;
    }

    function renderHeader() {
        const running = state.running[0];
        const stats = state.stats || {};
        const parts = [];
        if (running) {
            const total = Math.max(stats.total || 0, 1);
            const place = Math.min((stats.finished || 0) + 1, total);
            parts.push("Running " + place + " of " + total);
        } else if (state.totalPending) {
            parts.push(state.totalPending + " waiting");
        } else {
            parts.push("Idle: nothing waiting");
        }
        if (stats.eta_s !== null && stats.eta_s !== undefined && (running || state.totalPending)) {
            parts.push("about " + duration(stats.eta_s) + " left");
        }
        const text = parts.join(" · ");
        if (ui.status.dataset.text !== text || ui.status.dataset.paused !== String(state.paused)) {
            clear(ui.status);
            append(ui.status, [h("span", {class: "tsq-status-text", text})]);
            if (state.paused) append(ui.status, [h("span", {class: "tsq-badge tsq-paused", text: "Paused"})]);
            ui.status.dataset.text = text;
            ui.status.dataset.paused = String(state.paused);
        }
        ui.pause.textContent = state.paused ? "Resume" : "Pause";
        ui.pause.setAttribute("aria-pressed", String(state.paused));
        ui.pauseNow.hidden = !running;
        ui.clearQueue.disabled = !state.totalPending;
        renderCurrent(running);
    }

    function renderCurrent(task) {
        const key = task ? task.id + "|" + task.name + "|" + (task.params && task.params.prompt) : "";
        if (ui.current.dataset.key !== key) {
            ui.current.dataset.key = key;
            clear(ui.current);
            stopProgress();
            if (task) {
                ui.progressBar = h("div", {class: "tsq-progress-bar"});
                ui.progressText = h("span", {class: "tsq-progress-text"});
                ui.progress = h(
                    "div",
                    {class: "tsq-progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100"},
                    ui.progressBar,
                    ui.progressText,
                );
                ui.previewHost = h("div", {class: "tsq-preview"});
                append(ui.current, [
                    h(
                        "div",
                        {class: "tsq-current-main"},
                        h("div", {class: "tsq-current-title"}, kindBadge(task), h("span", {class: "tsq-title", text: title(task)})),
                        h("div", {class: "tsq-prompt", text: preview(task.params && task.params.prompt, 300)}),
                        h("div", {class: "tsq-progress-host"}, ui.progress),
                        h(
                            "div",
                            {class: "tsq-actions"},
                            button("Interrupt", () => act(api("/tasks/" + task.id + "/interrupt", {method: "POST"})), {
                                class: "tsq-btn tsq-interrupt",
                            }),
                            button("Skip", () => act(api("/tasks/" + task.id + "/skip", {method: "POST"})), {class: "tsq-btn tsq-skip"}),
                            button("Details", () => openDetails(task.id)),
                        ),
                    ),
                    ui.previewHost,
                ]);
                startProgress(task);
            }
        }
        if (task) showProgress(task.progress);
        ui.current.hidden = !task;
    }

    function showProgress(progress) {
        if (!ui.progressBar || !progress) return;
        const fraction = Math.max(0, Math.min(1, Number(progress.fraction) || 0));
        ui.progressBar.style.width = (fraction * 100).toFixed(1) + "%";
        ui.progress.setAttribute("aria-valuenow", String(Math.round(fraction * 100)));
        let text = Math.round(fraction * 100) + "%";
        if (progress.eta_s) text += " · " + duration(progress.eta_s) + " left";
        if (progress.text) text = progress.text + " · " + text;
        ui.progressText.textContent = text;
    }

    function startProgress(task) {
        if (inWebUI() && webuiProgressFor !== task.id) {
            // The WebUI's own bar and live preview, for the id the runner gives a queued task.
            webuiProgressFor = task.id;
            ui.progress.hidden = true;
            try {
                window.requestProgress("task(" + task.id + ")", ui.progress, ui.previewHost, () => {
                    if (webuiProgressFor === task.id) webuiProgressFor = null;
                });
                return;
            } catch (err) {
                ui.progress.hidden = false;
            }
        }
        progressFor = task.id;
        const poll = async () => {
            if (progressFor !== task.id || state.stopped) return;
            try {
                const fresh = await api("/tasks/" + task.id);
                if (fresh.status === "running") showProgress(fresh.progress);
            } catch (err) {
                // the long-poll will notice the task ended
            }
            if (progressFor === task.id) progressTimer = setTimeout(poll, PROGRESS_POLL_MS);
        };
        progressTimer = setTimeout(poll, PROGRESS_POLL_MS);
    }

    function stopProgress() {
        progressFor = null;
        clearTimeout(progressTimer);
    }

    function kindBadge(task) {
        return h("span", {class: "tsq-badge tsq-kind tsq-kind-" + task.kind, text: task.kind});
    }

    // -- lists ----------------------------------------------------------------------------------

    function signature(task, extra) {
        return JSON.stringify([
            task.status,
            task.name,
            task.params,
            task.checkpoint,
            task.bookmarked,
            task.position,
            task.error,
            task.result && task.result.images && task.result.images.length,
            task.finished_at,
            extra,
        ]);
    }

    function reconcile(list, map, tasks, build, kind) {
        const seen = new Set();
        let previous = null;
        for (const task of tasks) {
            seen.add(task.id);
            const selected = state.selected[kind].has(task.id);
            const editing = state.editing && state.editing.id === task.id;
            const sig = signature(task, [selected, editing]);
            let entry = map.get(task.id);
            if (!entry || entry.sig !== sig) {
                const el = build(task, selected);
                if (entry) {
                    const hadFocus = entry.el.contains(document.activeElement) ? focusPath(entry.el) : null;
                    entry.el.replaceWith(el);
                    if (hadFocus) restoreFocus(el, hadFocus);
                }
                entry = {el, sig};
                map.set(task.id, entry);
            }
            const wanted = previous ? previous.nextSibling : list.firstChild;
            if (wanted !== entry.el) list.insertBefore(entry.el, wanted);
            previous = entry.el;
        }
        for (const [id, entry] of map) {
            if (!seen.has(id)) {
                entry.el.remove();
                map.delete(id);
            }
        }
        for (const id of [...state.selected[kind]]) if (!seen.has(id)) state.selected[kind].delete(id);
    }

    function focusPath(el) {
        const active = document.activeElement;
        return active && active.dataset ? active.dataset.focus || null : null;
    }

    function restoreFocus(el, name) {
        const target = el.querySelector('[data-focus="' + name + '"]');
        if (target) target.focus();
    }

    function renderPending() {
        reconcile(ui.pendingList, rows.pending, state.pending, pendingRow, "pending");
        ui.pendingCount.textContent = "(" + state.totalPending + ")";
        clear(ui.pendingMore);
        if (state.totalPending > state.pending.length) {
            append(ui.pendingMore, [
                "Showing " + state.pending.length + " of " + state.totalPending + ". ",
                button("Show more", () => {
                    state.pendingLimit += PENDING_PAGE;
                    refresh();
                }),
            ]);
        } else if (!state.pending.length) {
            append(ui.pendingMore, [h("span", {class: "tsq-empty", text: "No task is waiting."})]);
        }
        renderBulk(ui.pendingTools, "pending", [
            ["Move to top", () => bulk("top", "pending")],
            ["Move to bottom", () => bulk("bottom", "pending")],
            ["Delete", () => bulk("delete", "pending")],
        ]);
        if (state.focusHandle) {
            const entry = rows.pending.get(state.focusHandle);
            if (entry) entry.el.querySelector(".tsq-handle").focus();
            state.focusHandle = null;
        }
    }

    function renderBulk(host, kind, actions) {
        const count = state.selected[kind].size;
        const key = String(count);
        if (host.dataset.key === key) return;
        host.dataset.key = key;
        clear(host);
        host.hidden = count === 0;
        if (!count) return;
        append(host, [
            h("span", {class: "tsq-bulk-count", text: count + " selected"}),
            actions.map(([label, fn]) => button(label, fn, {class: "tsq-btn tsq-bulk-" + label.split(" ")[0].toLowerCase()})),
            button("Select none", () => {
                state.selected[kind].clear();
                render();
            }),
        ]);
    }

    async function bulk(action, kind) {
        const ids = [...state.selected[kind]];
        const order = kind === "pending" ? state.pending.map((t) => t.id) : state.history.tasks.map((t) => t.id);
        ids.sort((a, b) => order.indexOf(a) - order.indexOf(b));
        if (action === "delete" && !confirm("Delete " + ids.length + " task(s)?")) return;
        state.selected[kind].clear();
        await act(api("/tasks/bulk", {method: "POST", body: {action, ids}}), (answer) => {
            const failed = answer.results.filter((r) => !r.ok);
            if (failed.length) throw new Error(failed.length + " not done: " + failed[0].error);
        });
    }

    function selectBox(task, kind, selected) {
        return h("input", {
            type: "checkbox",
            class: "tsq-select",
            checked: selected,
            "aria-label": "Select " + title(task),
            dataset: {focus: "select"},
            onchange: (event) => {
                if (event.target.checked) state.selected[kind].add(task.id);
                else state.selected[kind].delete(task.id);
                render();
            },
        });
    }

    function facts(task) {
        const p = task.params || {};
        const items = [
            ["checkpoint", task.checkpoint || "current checkpoint"],
            ["size", size(task)],
            ["steps", p.steps !== undefined ? p.steps + " steps" : ""],
            ["images", imageCount(task) + " image" + (imageCount(task) === 1 ? "" : "s")],
        ];
        return h(
            "div",
            {class: "tsq-facts"},
            items.filter(([, v]) => v).map(([k, v]) => h("span", {class: "tsq-fact tsq-fact-" + k, text: String(v)})),
        );
    }

    function pendingRow(task, selected) {
        const handle = h("button", {
            type: "button",
            class: "tsq-handle",
            text: "⠿",
            title: "Drag to reorder (or focus and use ↑ ↓, Home, End)",
            "aria-label": "Move " + title(task) + ": arrow keys move it, Home and End to the top and bottom",
            dataset: {focus: "handle"},
            onpointerdown: (event) => startDrag(event, task.id),
            onkeydown: (event) => keyMove(event, task.id),
        });
        const row = h(
            "div",
            {role: "listitem", class: "tsq-row tsq-pending-row" + (selected ? " tsq-selected" : ""), dataset: {id: task.id}},
            h(
                "div",
                {class: "tsq-row-main"},
                handle,
                selectBox(task, "pending", selected),
                h("span", {class: "tsq-position", text: task.position ? "#" + task.position : ""}),
                kindBadge(task),
                h(
                    "div",
                    {class: "tsq-row-text"},
                    h("div", {class: "tsq-name", text: task.name || "(unnamed)"}),
                    h("div", {class: "tsq-prompt", text: preview(task.params && task.params.prompt, 200)}),
                    facts(task),
                ),
                h("span", {class: "tsq-time", text: when(task.created_at)}),
                h(
                    "div",
                    {class: "tsq-row-actions"},
                    button("Run now", () => act(api("/tasks/" + task.id + "/run-now", {method: "POST"})), {
                        class: "tsq-btn tsq-run-now",
                        title: state.paused ? "Run exactly this task, the queue stays paused" : "Run this task next",
                    }),
                    button("Top", () => act(api("/tasks/" + task.id + "/move", {method: "POST", body: {to: "top"}})), {
                        class: "tsq-btn tsq-top",
                    }),
                    button("Bottom", () => act(api("/tasks/" + task.id + "/move", {method: "POST", body: {to: "bottom"}})), {
                        class: "tsq-btn tsq-bottom",
                    }),
                    bookmarkButton(task),
                    button("Edit", () => openEdit(task), {class: "tsq-btn tsq-edit-btn", dataset: {focus: "edit"}}),
                    button("Details", () => openDetails(task.id), {class: "tsq-btn tsq-open"}),
                    button("Delete", () => act(api("/tasks/" + task.id, {method: "DELETE"})), {class: "tsq-btn tsq-delete"}),
                ),
            ),
        );
        if (state.editing && state.editing.id === task.id) row.appendChild(state.editing.form);
        return row;
    }

    function bookmarkButton(task) {
        const on = task.bookmarked;
        return button(on ? "★" : "☆", () => act(api("/tasks/" + task.id + (on ? "/unbookmark" : "/bookmark"), {method: "POST"})), {
            class: "tsq-btn tsq-bookmark" + (on ? " tsq-on" : ""),
            title: on ? "Remove the bookmark" : "Bookmark (kept when the history is cleared)",
            "aria-pressed": String(on),
            "aria-label": "Bookmark",
        });
    }

    function historyRow(task, selected) {
        const took = seconds(task);
        const actions = [
            button("Details", () => openDetails(task.id), {class: "tsq-btn tsq-open"}),
            button("Requeue", () => act(api("/tasks/" + task.id + "/requeue", {method: "POST"})), {class: "tsq-btn tsq-requeue"}),
            bookmarkButton(task),
            button("Delete", () => act(api("/tasks/" + task.id, {method: "DELETE"})), {class: "tsq-btn tsq-delete"}),
        ];
        return h(
            "div",
            {role: "listitem", class: "tsq-row tsq-history-row" + (selected ? " tsq-selected" : ""), dataset: {id: task.id, status: task.status}},
            h(
                "div",
                {class: "tsq-row-main"},
                selectBox(task, "history", selected),
                h("span", {class: "tsq-badge tsq-state tsq-state-" + task.status, text: task.status}),
                kindBadge(task),
                task.result && task.result.images && task.result.images.length
                    ? h("img", {
                          class: "tsq-thumb",
                          loading: "lazy",
                          alt: "",
                          src: base + "/tasks/" + encodeURIComponent(task.id) + "/results/0?thumbnail=96",
                          onclick: () => openDetails(task.id),
                      })
                    : h("span", {class: "tsq-thumb tsq-no-thumb"}),
                h(
                    "div",
                    {class: "tsq-row-text"},
                    h("div", {class: "tsq-name", text: task.name || "(unnamed)"}),
                    h("div", {class: "tsq-prompt", text: preview(task.params && task.params.prompt, 200)}),
                    task.error ? h("div", {class: "tsq-error-line", text: preview(task.error, 200)}) : null,
                    facts(task),
                ),
                h(
                    "span",
                    {class: "tsq-time", title: "queued " + when(task.created_at)},
                    when(task.finished_at || task.created_at),
                    took !== null ? h("span", {class: "tsq-took", text: " · " + duration(took)}) : null,
                ),
                h("div", {class: "tsq-row-actions"}, actions),
            ),
        );
    }

    function renderHistory() {
        const hist = state.history;
        reconcile(ui.historyList, rows.history, hist.tasks, historyRow, "history");
        ui.historyCount.textContent = "(" + hist.total + ")";
        if (ui.statusFilter.value !== hist.status) ui.statusFilter.value = hist.status;
        const pages = Math.max(1, Math.ceil(hist.total / HISTORY_PAGE));
        const page = Math.floor(hist.offset / HISTORY_PAGE) + 1;
        const key = [page, pages, hist.total].join("/");
        if (ui.pager.dataset.key !== key) {
            ui.pager.dataset.key = key;
            clear(ui.pager);
            if (!hist.total) {
                append(ui.pager, [h("span", {class: "tsq-empty", text: hist.search || hist.status || hist.bookmarked ? "Nothing matches." : "No finished task yet."})]);
            } else {
                append(ui.pager, [
                    button("« Newer", () => setHistory({offset: Math.max(0, hist.offset - HISTORY_PAGE)}), {
                        class: "tsq-btn tsq-prev",
                        disabled: page <= 1,
                    }),
                    h("span", {class: "tsq-page", text: "Page " + page + " of " + pages}),
                    button("Older »", () => setHistory({offset: hist.offset + HISTORY_PAGE}), {
                        class: "tsq-btn tsq-next",
                        disabled: page >= pages,
                    }),
                ]);
            }
        }
        renderBulk(ui.historyTools, "history", [
            ["Requeue", () => bulk("requeue", "history")],
            ["Bookmark", () => bulk("bookmark", "history")],
            ["Delete", () => bulk("delete", "history")],
        ]);
    }

    // -- reordering: pointer (mouse, pen, touch) and keyboard -------------------------------------

    function startDrag(event, taskId) {
        if (event.button !== undefined && event.button !== 0) return;
        const entry = rows.pending.get(taskId);
        if (!entry) return;
        event.preventDefault();
        const handle = event.currentTarget;
        try {
            handle.setPointerCapture(event.pointerId);
        } catch (err) {
            // synthetic events have no capturable pointer
        }
        entry.el.classList.add("tsq-dragging");
        const marker = h("div", {class: "tsq-drop-marker", "aria-hidden": "true"});
        drag = {taskId, el: entry.el, marker, target: null};
        const move = (e) => dragOver(e.clientY);
        const up = () => {
            handle.removeEventListener("pointermove", move);
            handle.removeEventListener("pointerup", up);
            handle.removeEventListener("pointercancel", up);
            finishDrag();
        };
        handle.addEventListener("pointermove", move);
        handle.addEventListener("pointerup", up);
        handle.addEventListener("pointercancel", up);
    }

    function dragOver(y) {
        if (!drag) return;
        let target = null;
        for (const task of state.pending) {
            const el = rows.pending.get(task.id).el;
            if (el === drag.el) continue;
            const box = el.getBoundingClientRect();
            if (y < box.top + box.height / 2) {
                target = {before: task.id, el};
                break;
            }
        }
        if (!target) {
            const others = state.pending.filter((t) => t.id !== drag.taskId);
            if (others.length) target = {after: others[others.length - 1].id, el: null};
        }
        drag.target = target;
        if (target && target.el) ui.pendingList.insertBefore(drag.marker, target.el);
        else if (target) ui.pendingList.appendChild(drag.marker);
    }

    function finishDrag() {
        if (!drag) return;
        const {taskId, el, marker, target} = drag;
        drag = null;
        el.classList.remove("tsq-dragging");
        marker.remove();
        if (!target) return;
        const ids = state.pending.map((t) => t.id);
        const from = ids.indexOf(taskId);
        const anchor = ids.indexOf(target.before || target.after);
        const unchanged = target.before ? anchor === from + 1 : anchor === from - 1 || anchor === from;
        if (unchanged) return;
        moveLocally(taskId, target);
        state.focusHandle = taskId;
        act(api("/tasks/" + taskId + "/move", {method: "POST", body: target.before ? {before: target.before} : {after: target.after}}));
    }

    function moveLocally(taskId, target) {
        const task = state.pending.find((t) => t.id === taskId);
        const rest = state.pending.filter((t) => t.id !== taskId);
        let index = rest.findIndex((t) => t.id === (target.before || target.after));
        if (target.after) index += 1;
        rest.splice(index, 0, task);
        state.pending = rest;
        renderPending();
    }

    function keyMove(event, taskId) {
        const ids = state.pending.map((t) => t.id);
        const index = ids.indexOf(taskId);
        let body = null;
        let target = null;
        if (event.key === "ArrowUp" && index > 0) target = {before: ids[index - 1]};
        else if (event.key === "ArrowDown" && index < ids.length - 1) target = {after: ids[index + 1]};
        else if (event.key === "Home" && index > 0) body = {to: "top"};
        else if (event.key === "End" && index < ids.length - 1) body = {to: "bottom"};
        else return;
        event.preventDefault();
        if (target) {
            moveLocally(taskId, target);
            body = target;
        }
        state.focusHandle = taskId;
        act(api("/tasks/" + taskId + "/move", {method: "POST", body}));
    }

    // -- editing ---------------------------------------------------------------------------------

    async function loadChoices() {
        if (state.samplers === null) state.samplers = await api("/samplers").catch(() => []);
        if (state.checkpoints === null) state.checkpoints = await api("/checkpoints").catch(() => []);
    }

    async function openEdit(task) {
        if (state.editing && state.editing.id === task.id) {
            closeEdit();
            return;
        }
        await loadChoices();
        const inputs = {};
        const errors = {};
        const p = task.params || {};
        const field = ([name, label, kind, min, max]) => {
            const value = name === "name" ? task.name : name === "checkpoint" ? task.checkpoint || "" : p[name];
            let input;
            if (kind === "textarea") {
                input = h("textarea", {class: "tsq-input", rows: name === "prompt" ? 3 : 2, value: value === undefined ? "" : String(value)});
            } else if (kind === "checkpoint" || kind === "sampler") {
                const choices = kind === "checkpoint" ? state.checkpoints : state.samplers;
                input = h("input", {class: "tsq-input", value: value === undefined ? "" : String(value)});
                const list = h("datalist", {id: "tsq-" + kind + "-" + task.id}, (choices || []).map((c) => h("option", {value: c})));
                input.setAttribute("list", list.id);
                input.placeholder = kind === "checkpoint" ? "current checkpoint" : "";
                errors[name] = h("div", {class: "tsq-field-error", role: "alert"});
                inputs[name] = input;
                return h("label", {class: "tsq-field tsq-field-" + name}, h("span", {text: label}), input, list, errors[name]);
            } else {
                input = h("input", {
                    class: "tsq-input",
                    type: "number",
                    step: kind === "int" ? "1" : "any",
                    min,
                    max,
                    value: value === undefined || value === null ? "" : String(value),
                });
            }
            inputs[name] = input;
            errors[name] = h("div", {class: "tsq-field-error", role: "alert"});
            input.dataset.kind = kind;
            return h("label", {class: "tsq-field tsq-field-" + name}, h("span", {text: label}), input, errors[name]);
        };
        const general = h("div", {class: "tsq-field-error tsq-form-error", role: "alert"});
        const form = h(
            "form",
            {
                class: "tsq-edit",
                noValidate: true, // our own checks, shown inline beside each field
                onsubmit: (event) => {
                    event.preventDefault();
                    saveEdit(task);
                },
            },
            field(["name", "Name", "text"]),
            EDIT_FIELDS.filter((spec) => spec[5] !== "if-present" || p[spec[0]] !== undefined).map(field),
            general,
            h(
                "div",
                {class: "tsq-actions"},
                h("button", {type: "submit", class: "tsq-btn tsq-primary tsq-save", text: "Save"}),
                button("Cancel", closeEdit),
            ),
        );
        inputs.name.type = "text";
        inputs.name.maxLength = 200;
        state.editing = {id: task.id, form, inputs, errors, general, task};
        renderPending();
        inputs.prompt.focus();
    }

    function closeEdit() {
        state.editing = null;
        renderPending();
    }

    function validate(editing) {
        const params = {};
        let ok = true;
        let name = null;
        let checkpoint;
        for (const [field, input] of Object.entries(editing.inputs)) {
            editing.errors[field].textContent = "";
            input.removeAttribute("aria-invalid");
            const kind = input.dataset.kind;
            const raw = input.value;
            const spec = EDIT_FIELDS.find((f) => f[0] === field);
            const fail = (message) => {
                ok = false;
                editing.errors[field].textContent = message;
                input.setAttribute("aria-invalid", "true");
            };
            if (field === "name") {
                if (raw.length > 200) fail("At most 200 characters.");
                name = raw;
            } else if (field === "checkpoint") {
                checkpoint = raw.trim() || null;
            } else if (kind === "int" || kind === "float") {
                if (raw.trim() === "") {
                    fail("Give a number.");
                    continue;
                }
                const number = Number(raw);
                if (!isFinite(number) || (kind === "int" && !Number.isInteger(number))) {
                    fail(kind === "int" ? "Give a whole number." : "Give a number.");
                } else if (number < spec[3] || number > spec[4]) {
                    fail("Between " + spec[3] + " and " + spec[4] + ".");
                } else {
                    params[field] = number;
                }
            } else if (field === "sampler_name") {
                if (raw.trim()) params[field] = raw.trim();
                else fail("Choose a sampler.");
            } else {
                params[field] = raw;
            }
        }
        return ok ? {name, checkpoint, params} : null;
    }

    async function saveEdit(task) {
        const editing = state.editing;
        if (!editing) return;
        editing.general.textContent = "";
        const values = validate(editing);
        if (!values) return;
        const p = task.params || {};
        const changed = {};
        for (const [key, value] of Object.entries(values.params)) if (p[key] !== value) changed[key] = value;
        const body = {params: changed};
        if (values.name !== task.name) body.name = values.name;
        if ((values.checkpoint || null) !== (task.checkpoint || null)) body.checkpoint = values.checkpoint;
        try {
            await api("/tasks/" + task.id, {method: "PATCH", body});
            state.editing = null;
            await refresh();
        } catch (err) {
            if (err instanceof ApiError && Array.isArray(err.detail)) {
                for (const item of err.detail) {
                    const field = fieldOf(item);
                    const target = editing.errors[field];
                    if (target) {
                        target.textContent = item.msg;
                        editing.inputs[field].setAttribute("aria-invalid", "true");
                    } else {
                        editing.general.textContent = (field ? field + ": " : "") + item.msg;
                    }
                }
            } else {
                editing.general.textContent = err.message;
            }
        }
    }

    // -- details ---------------------------------------------------------------------------------

    async function openDetails(taskId) {
        state.details = {id: taskId, task: null, index: 0, infotext: null};
        await reloadDetails();
        renderDetails();
    }

    async function reloadDetails() {
        const details = state.details;
        try {
            const task = await api("/tasks/" + encodeURIComponent(details.id));
            if (state.details !== details) return;
            details.changed = JSON.stringify(task) !== JSON.stringify(details.task);
            details.task = task;
            if (details.changed && !(task.result && task.result.infotexts && task.result.infotexts.length)) {
                const answer = await api("/tasks/" + encodeURIComponent(details.id) + "/infotext").catch(() => null);
                details.infotext = answer ? answer.infotext : null;
            }
        } catch (err) {
            if (err instanceof ApiError && err.status === 404) state.details = null;
        }
    }

    function closeDetails() {
        state.details = null;
        renderDetails();
    }

    function renderDetails() {
        const details = state.details;
        if (!details || !details.task) {
            if (ui.details.firstChild) clear(ui.details);
            ui.details.dataset.key = "";
            return;
        }
        const key = details.id + "|" + details.index + "|" + JSON.stringify(details.task);
        if (ui.details.dataset.key === key) return;
        ui.details.dataset.key = key;
        const task = details.task;
        const scrollers = ui.details.querySelector(".tsq-details-body");
        const scrollTop = scrollers ? scrollers.scrollTop : 0;
        clear(ui.details);
        const images = (task.result && task.result.images) || [];
        const infotexts = (task.result && task.result.infotexts) || [];
        const infotext = infotexts[details.index] || infotexts[0] || details.infotext || "";
        const bridge = findWebUIBridge();
        const href = (path) => base + "/tasks/" + encodeURIComponent(task.id) + path;

        const paramsTable = h(
            "table",
            {class: "tsq-params"},
            h(
                "tbody",
                null,
                Object.entries(task.params || {})
                    .sort(([a], [b]) => a.localeCompare(b))
                    .map(([k, v]) => h("tr", null, h("th", {scope: "row", text: k}), h("td", {text: describeValue(v)}))),
            ),
        );
        const scripts = Object.entries(task.script_args || {}).map(([scriptTitle, args]) =>
            h(
                "details",
                {class: "tsq-script", open: Object.keys(task.script_args).length <= 3},
                h("summary", {text: scriptTitle + (scriptTitle === task.script_name ? " (selected script)" : "")}),
                h(
                    "ol",
                    {class: "tsq-script-args", start: 0},
                    (Array.isArray(args) ? args : [args]).map((value) => h("li", {text: describeValue(value)})),
                ),
            ),
        );
        const gallery = images.length
            ? h(
                  "div",
                  {class: "tsq-gallery"},
                  images.map((name, index) =>
                      h(
                          "button",
                          {
                              type: "button",
                              class: "tsq-gallery-item" + (index === details.index ? " tsq-chosen" : ""),
                              title: name,
                              "aria-label": "Image " + (index + 1) + ": " + name,
                              onclick: () => {
                                  details.index = index;
                                  renderDetails();
                              },
                              ondblclick: () => showFull(href("/results/" + index)),
                          },
                          h("img", {src: href("/results/" + index + "?thumbnail=256"), alt: name, loading: "lazy"}),
                      ),
                  ),
              )
            : null;

        const loadButtons = [];
        if (bridge) {
            const send = (target) => () => {
                // an img2img task loads with its own input image, like PNG Info's "Send to img2img"
                const withInit = target === "load_img2img" && task.kind === "img2img";
                bridge.send({
                    task: task.id,
                    index: details.index,
                    target: withInit ? "send_img2img" : target,
                    source: withInit ? "init" : "result",
                });
            };
            loadButtons.push(
                button("Load into txt2img", send("load_txt2img"), {class: "tsq-btn tsq-load-txt2img"}),
                button("Load into img2img", send("load_img2img"), {class: "tsq-btn tsq-load-img2img"}),
            );
            if (images.length) {
                loadButtons.push(
                    button("Send to img2img", send("send_img2img"), {class: "tsq-btn tsq-send-img2img"}),
                    button("Send to inpaint", send("send_inpaint"), {class: "tsq-btn tsq-send-inpaint"}),
                    button("Send to extras", send("send_extras"), {class: "tsq-btn tsq-send-extras"}),
                );
            }
        }
        if (images.length) {
            loadButtons.push(
                h("a", {class: "tsq-btn tsq-zip", href: href("/results.zip"), download: "results-" + task.id + ".zip", text: "Download zip"}),
                button("Full size", () => showFull(href("/results/" + details.index)), {class: "tsq-btn tsq-full"}),
            );
        }
        loadButtons.push(button("Save as…", () => {
            const name = window.prompt("Save this task as a saved task named:", task.name || preview(task.params.prompt, 60));
            if (name && name.trim()) act(api("/saved/from-task/" + task.id, {method: "POST", body: {name: name.trim()}}));
        }, {class: "tsq-btn tsq-save-as"}));
        if (task.status !== "pending" && task.status !== "running") {
            loadButtons.push(button("Requeue", () => act(api("/tasks/" + task.id + "/requeue", {method: "POST"})), {class: "tsq-btn"}));
        }

        const panel = h(
            "div",
            {class: "tsq-details", role: "dialog", "aria-modal": "false", "aria-label": "Task details"},
            h(
                "div",
                {class: "tsq-details-head"},
                h("span", {class: "tsq-badge tsq-state tsq-state-" + task.status, text: task.status}),
                kindBadge(task),
                h("strong", {class: "tsq-details-title", text: title(task)}),
                button("×", closeDetails, {class: "tsq-btn tsq-close", "aria-label": "Close the details", title: "Close (Esc)"}),
            ),
            h(
                "div",
                {class: "tsq-details-body"},
                h(
                    "dl",
                    {class: "tsq-meta"},
                    [
                        ["Id", task.id],
                        ["Checkpoint", task.checkpoint || "current checkpoint"],
                        ["Queued", when(task.created_at)],
                        ["Started", when(task.started_at)],
                        ["Finished", when(task.finished_at)],
                        ["Took", duration(seconds(task))],
                        ["Source", task.source],
                        ["User", task.user],
                        ["Requeued from", task.requeued_from],
                    ]
                        .filter(([, v]) => v)
                        .map(([k, v]) => [h("dt", {text: k}), h("dd", {text: String(v)})]),
                ),
                task.error ? h("div", {class: "tsq-error-box"}, h("strong", {text: "Error"}), h("pre", {class: "tsq-error", text: task.error})) : null,
                (task.warnings || []).length ? h("ul", {class: "tsq-warnings"}, task.warnings.map((w) => h("li", {text: w}))) : null,
                h("div", {class: "tsq-actions tsq-details-actions"}, loadButtons),
                gallery,
                infotext ? h("div", {class: "tsq-infotext-box"}, h("div", {class: "tsq-h4", role: "heading", "aria-level": "4", text: "Infotext"}), h("pre", {class: "tsq-infotext", text: infotext})) : null,
                h("div", {class: "tsq-h4", role: "heading", "aria-level": "4", text: "Parameters"}),
                paramsTable,
                scripts.length ? [h("div", {class: "tsq-h4", role: "heading", "aria-level": "4", text: "Extensions and scripts"}), scripts] : null,
            ),
        );
        ui.details.appendChild(panel);
        const body = panel.querySelector(".tsq-details-body");
        if (body) body.scrollTop = scrollTop;
    }

    function showFull(src) {
        clear(ui.lightbox);
        ui.lightbox.appendChild(h("img", {src, alt: "Full size result"}));
        ui.lightbox.hidden = false;
    }

    // -- lifecycle -------------------------------------------------------------------------------

    function start() {
        state.timings.mountedAt = performance.now();
        buildShell();
        refresh().then(() => {
            checkNotice();
            watch();
        });
    }

    function stop() {
        state.stopped = true;
        stopProgress();
    }

    return {state, start, stop, refresh, openDetails, api, timings: state.timings};
}

// -- the WebUI's paste mechanism (hidden gradio parts rendered by task_scheduler/webui/tab.py) ------

let bridgeRequest = null;

function findWebUIBridge() {
    const app = typeof window.gradioApp === "function" ? window.gradioApp() : document;
    const prepare = app.querySelector("#task_scheduler_tab_prepare");
    if (!prepare) return null;
    return {
        send(request) {
            bridgeRequest = request;
            (prepare.tagName === "BUTTON" ? prepare : prepare.querySelector("button") || prepare).click();
        },
    };
}

// Called by tab.py's gradio events: the prepare click's inputs, then the paste click.
const webui = {
    request() {
        return [JSON.stringify(bridgeRequest || {})];
    },
    paste() {
        const request = bridgeRequest;
        bridgeRequest = null;
        if (!request) return [];
        const app = typeof window.gradioApp === "function" ? window.gradioApp() : document;
        const target = app.querySelector("#task_scheduler_tab_" + request.target);
        if (target) (target.tagName === "BUTTON" ? target : target.querySelector("button") || target).click();
        return [];
    },
};

// -- mounting ---------------------------------------------------------------------------------

const apps = new Map();

function mount(el, options) {
    if (!el || apps.has(el)) return apps.get(el);
    const config = Object.assign({}, window.TASK_SCHEDULER_STANDALONE || {}, options || {});
    if (el.dataset.apiBase) config.apiBase = el.dataset.apiBase;
    const app = createApp(el, config);
    apps.set(el, app);
    app.start();
    return app;
}

function findContainers() {
    const roots = [document];
    if (typeof window.gradioApp === "function") {
        try {
            roots.unshift(window.gradioApp());
        } catch (err) {
            // not ready yet
        }
    }
    for (const r of roots) {
        for (const id of CONTAINER_IDS) {
            const el = r.querySelector ? r.querySelector("#" + id) : null;
            if (el) return el;
        }
    }
    return null;
}

function autoMount() {
    const el = findContainers();
    if (el) {
        mount(el);
        return true;
    }
    return false;
}

window.taskQueue = {mount, webui, apps};

// The Queue button (a classic script) opens "Queue as sweep…" through this, with the page's one
// API client: the mounted tab's, or, before the tab is mounted, one made for the purpose.
let spareApi = null;
window.taskSchedulerJobs = {
    openSweepDialog(options) {
        const app = apps.values().next().value;
        const api = app ? app.api : spareApi || (spareApi = createApi());
        return openSweepDialog({api, ...options});
    },
};

if (!autoMount()) {
    const observer = new MutationObserver(() => {
        if (autoMount()) observer.disconnect();
    });
    observer.observe(document.documentElement, {childList: true, subtree: true});
    if (typeof window.onUiLoaded === "function") window.onUiLoaded(() => autoMount() && observer.disconnect());
}

export {mount, webui};
