// Task Scheduler: the Task Queue tab's running task: its title, prompt, progress (and, inside the
// WebUI, the WebUI's own progress bar and live preview), Interrupt / Skip / Details. Outside the
// WebUI the task's progress is polled once a second while it runs; nothing else here polls.

import {append, button, clear, h, preview} from "./task_queue_dom.mjs";
import {duration, title} from "./task_queue_format.mjs";
import {kindBadge} from "./task_queue_rows.mjs";

const PROGRESS_POLL_MS = 1000;

/**
 * state: the tab's (running, stopped); api, act (run an action, then refresh),
 * openDetails(taskId), inWebUI() (whether the WebUI's progress API is there).
 * Returns {el, render, stop}; hidden while nothing runs.
 */
function mountRunning({state, api, act, openDetails, inWebUI}) {
    const el = h("div", {class: "tsq-current"});
    const ui = {};
    let progressTimer = null;
    let progressFor = null;
    let webuiProgressFor = null;

    function render() {
        const task = state.running[0];
        const key = task ? task.id + "|" + task.name + "|" + (task.params && task.params.prompt) : "";
        if (el.dataset.key !== key) {
            el.dataset.key = key;
            clear(el);
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
                append(el, [
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
        el.hidden = !task;
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

    return {el, render, stop: stopProgress};
}

export {mountRunning};
