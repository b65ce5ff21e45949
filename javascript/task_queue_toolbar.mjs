// Task Scheduler: the Task Queue tab's toolbar: where the queue stands ("Running 2 of 5 · about
// 3 min left", "Paused") and what can be done to all of it (Pause / Resume, Pause now, Clear queue).

import {append, button, clear, h} from "./task_queue_dom.mjs";
import {duration} from "./task_queue_format.mjs";

/**
 * state: the tab's (running, totalPending, stats, paused); api, act (run an action, then refresh).
 * Returns {el, render}.
 */
//: what the server says that the rest of the header says already
const PLAIN = new Set(["running", "starting", "queue empty", "paused", "nothing to run"]);

/** The schedule's part of the header: "Holding until 23:00 · next: job 'x' at 01:00 · model unloaded". */
function scheduleText(schedule) {
    if (!schedule) return "";
    const said = (schedule.reasons || []).filter((reason) => !PLAIN.has(reason));
    const text = said.join(" · ");
    return text ? text.charAt(0).toUpperCase() + text.slice(1) : "";
}

function scheduleTitle(schedule) {
    const lines = [];
    if (schedule.windows) lines.push("Run windows: " + schedule.windows + (schedule.timezone ? " (" + schedule.timezone + ")" : ""));
    if (schedule.next_start) lines.push("Next start: " + new Date(schedule.next_start).toLocaleString());
    if (schedule.unload_after_s !== null && schedule.unload_after_s !== undefined) {
        lines.push("Unloads the model " + Math.round(schedule.unload_after_s) + " s after the queue goes idle");
    }
    return lines.join("\n");
}

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
        // no "about 15 s left" for tasks the queue holds (outside its windows, a start time ahead)
        const held = state.schedule && ["holding", "waiting"].includes(state.schedule.state);
        if (stats.eta_s !== null && stats.eta_s !== undefined && (running || state.totalPending) && !held && !state.paused) {
            parts.push("about " + duration(stats.eta_s) + " left");
        }
        const text = parts.join(" · ");
        const plan = scheduleText(state.schedule);
        const key = [text, plan, state.paused].join("|");
        if (ui.status.dataset.key !== key) {
            clear(ui.status);
            append(ui.status, [h("span", {class: "tsq-status-text", text})]);
            if (state.paused) append(ui.status, [h("span", {class: "tsq-badge tsq-paused", text: "Paused"})]);
            if (plan) append(ui.status, [h("span", {class: "tsq-schedule", text: plan, title: scheduleTitle(state.schedule)})]);
            ui.status.dataset.key = key;
        }
        ui.pause.textContent = state.paused ? "Resume" : "Pause";
        ui.pause.setAttribute("aria-pressed", String(state.paused));
        ui.pauseNow.hidden = !running;
        ui.clearQueue.disabled = !state.totalPending;
    }

    return {el, render};
}

export {mountToolbar};
