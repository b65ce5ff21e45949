// Task Scheduler: how the Task Queue tab words a task (titles, sizes, times, durations, values).
// Pure functions of a task or a value; nothing here touches the page.

import {preview} from "./task_queue_dom.mjs";

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

export {describeValue, duration, imageCount, seconds, size, title, when};
