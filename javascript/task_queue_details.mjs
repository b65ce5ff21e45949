// Task Scheduler: the Task Queue tab's details panel of one task (status, times, error, warnings,
// its images, infotext, parameters, extension arguments) with what can be done with it: load it
// into txt2img / img2img or send an image on (inside the WebUI), download, save as a saved task,
// requeue; and the full-size image viewer. Esc closes the viewer, then the panel.

import {ApiError} from "./task_queue_api.mjs";
import {button, clear, h, preview} from "./task_queue_dom.mjs";
import {describeValue, duration, seconds, title, when} from "./task_queue_format.mjs";
import {kindBadge} from "./task_queue_rows.mjs";

/**
 * state: the tab's (details: {id, task, index, infotext} or null); api, act (run an action, then
 * refresh), findBridge() (the WebUI's paste bridge, or null outside it).
 * Returns {el, lightbox, open(taskId), reload, render, escape}: the tab calls reload() with every
 * refresh while a panel is open, then render(); escape() answers the Esc key.
 */
/** "3 other tasks (a1b2c3d4, …)" for a task that ran in one WebUI batch with others; "" when alone. */
function batchMates(task) {
    const others = task.ran_with || [];
    if (!task.batch_id || !others.length) return "";
    const names = others.slice(0, 4).map((id) => id.slice(0, 8)).join(", ") + (others.length > 4 ? ", …" : "");
    return others.length + " other task" + (others.length === 1 ? "" : "s") + " (" + names + ")";
}

function mountDetails({state, api, act, findBridge}) {
    const ui = {
        host: h("div", {class: "tsq-details-host"}),
        lightbox: h("div", {class: "tsq-lightbox", hidden: true, onclick: () => (ui.lightbox.hidden = true)}),
    };

    async function open(taskId) {
        state.details = {id: taskId, task: null, index: 0, infotext: null};
        await reload();
        render();
    }

    async function reload() {
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

    function close() {
        state.details = null;
        render();
    }

    function render() {
        const details = state.details;
        if (!details || !details.task) {
            if (ui.host.firstChild) clear(ui.host);
            ui.host.dataset.key = "";
            return;
        }
        const key = details.id + "|" + details.index + "|" + JSON.stringify(details.task);
        if (ui.host.dataset.key === key) return;
        ui.host.dataset.key = key;
        const task = details.task;
        const scrollers = ui.host.querySelector(".tsq-details-body");
        const scrollTop = scrollers ? scrollers.scrollTop : 0;
        clear(ui.host);
        const images = (task.result && task.result.images) || [];
        const infotexts = (task.result && task.result.infotexts) || [];
        const infotext = infotexts[details.index] || infotexts[0] || details.infotext || "";
        const bridge = findBridge();
        const href = (path) => api.base + "/tasks/" + encodeURIComponent(task.id) + path;

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
                                  render();
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
                button("×", close, {class: "tsq-btn tsq-close", "aria-label": "Close the details", title: "Close (Esc)"}),
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
                        ["Captured in", {forge: "Forge", neo: "Forge Neo", a1111: "AUTOMATIC1111"}[task.needs_webui] || task.needs_webui],
                        ["User", task.user],
                        ["Requeued from", task.requeued_from],
                        ["Ran in one batch with", batchMates(task)],
                    ]
                        .filter(([, v]) => v)
                        .map(([k, v]) => [h("dt", {text: k}), h("dd", {text: String(v)})]),
                ),
                task.error ? h("div", {class: "tsq-error-box"}, h("strong", {text: "Error"}), h("pre", {class: "tsq-error", text: task.error})) : null,
                (task.warnings || []).length
                    ? h("div", {class: "tsq-warnings-box"},
                        h("strong", {text: "Warnings"}),
                        h("ul", {class: "tsq-warnings"}, task.warnings.map((w) => h("li", {text: w}))))
                    : null,
                h("div", {class: "tsq-actions tsq-details-actions"}, loadButtons),
                gallery,
                infotext ? h("div", {class: "tsq-infotext-box"}, h("div", {class: "tsq-h4", role: "heading", "aria-level": "4", text: "Infotext"}), h("pre", {class: "tsq-infotext", text: infotext})) : null,
                h("div", {class: "tsq-h4", role: "heading", "aria-level": "4", text: "Parameters"}),
                paramsTable,
                scripts.length ? [h("div", {class: "tsq-h4", role: "heading", "aria-level": "4", text: "Extensions and scripts"}), scripts] : null,
            ),
        );
        ui.host.appendChild(panel);
        const body = panel.querySelector(".tsq-details-body");
        if (body) body.scrollTop = scrollTop;
    }

    function showFull(src) {
        clear(ui.lightbox);
        ui.lightbox.appendChild(h("img", {src, alt: "Full size result"}));
        ui.lightbox.hidden = false;
    }

    function escape() {
        if (!ui.lightbox.hidden) ui.lightbox.hidden = true;
        else if (state.details) close();
    }

    return {el: ui.host, lightbox: ui.lightbox, open, reload, render, escape};
}

export {mountDetails};
