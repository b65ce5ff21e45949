// Task Scheduler: the Task Queue tab's toolbar: where the queue stands ("Running 2 of 5 · about
// 3 min left", "Paused") and what can be done to all of it (Pause / Resume, Pause now, Clear queue).

import {append, button, clear, h} from "./task_queue_dom.mjs";
import {duration} from "./task_queue_format.mjs";

/**
 * state: the tab's (running, totalPending, stats, paused); api, act (run an action, then refresh).
 * Returns {el, render}.
 */
function mountToolbar({state, api, act}) {
    const ui = {};
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
    const el = h("div", {class: "tsq-header-row"}, ui.status, h("div", {class: "tsq-actions"}, ui.pause, ui.pauseNow, ui.clearQueue));

    function render() {
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
    }

    return {el, render};
}

export {mountToolbar};
