// Task Scheduler: the Task Queue tab's Workers strip: one row per process that runs tasks of this
// queue (each WebUI on a shared database file), with its state, loaded checkpoint, current task
// and progress, the age of its last heartbeat, and Pause / Pause now / Resume / Forget.
//
// It loads GET /workers with every change of the queue (the shell's one long-poll). Heartbeats
// are quiet writes that change no revision, so while the tab is on screen a slow timer reloads the
// strip alone: the age moves and a worker that stopped beating turns "offline". No second
// long-poll.
//
// With a single worker the strip is hidden: the toolbar's Pause and the running task already say
// everything about it, and a one-GPU user should see no clutter. It shows when the queue has a
// second worker (live or not: a stopped one can be forgotten here), or when the only worker is
// paused on its own (else nothing on the page would say why nothing runs).

import {append, button, h} from "./task_queue_dom.mjs";
import {ago, shortCheckpoint, title} from "./task_queue_format.mjs";

const REFRESH_MS = 5000;
const STATE_TEXT = {idle: "idle", running: "running", down: "down", offline: "offline", stopped: "stopped"};

/** Whether the queue has more than one worker (then tasks say where they run). */
function severalWorkers(state) {
    return (state.workers || []).length > 1;
}

/** A worker's name by its id (its id when the queue does not know it). */
function workerName(state, id) {
    const worker = (state.workers || []).find((w) => w.id === id);
    return worker ? worker.name : id;
}

/** Whether a running task runs in this WebUI (true when the server does not say who it is). */
function isLocal(state, task) {
    return !state.localWorker || !task.worker || task.worker === state.localWorker;
}

/**
 * state: the tab's (workers, localWorker, running, progress, stopped); api, act (run an action,
 * then refresh). Returns {el, load, render, stop}: load() is the shell's, with every change.
 */
function mountWorkers({state, api, act}) {
    const list = h("div", {class: "tsq-worker-list", role: "list"});
    const el = h("div", {class: "tsq-workers", role: "group", "aria-label": "Workers"}, h("div", {class: "tsq-workers-h", text: "Workers"}), list);
    el.hidden = true;
    let loadedAt = 0;
    let timer = null;

    async function load() {
        try {
            const data = await api("/workers");
            state.workers = data.workers || [];
            state.localWorker = data.local || null;
            loadedAt = performance.now();
        } catch (err) {
            // a server without workers: the tab works as before, with no strip
            state.workers = [];
        }
    }

    /** The slow timer: only while the strip is on screen (its tab shown, the page visible). */
    function tick() {
        timer = setTimeout(async () => {
            if (state.stopped) return;
            // hidden (one worker) it waits for the long-poll: a worker registering is a change
            if (!el.hidden && el.offsetParent !== null && document.visibilityState === "visible") {
                await load();
                render();
            }
            tick();
        }, REFRESH_MS);
    }

    function render() {
        const workers = state.workers || [];
        const only = workers.length === 1 ? workers[0] : null;
        el.hidden = workers.length === 0 || (only !== null && !only.paused);
        if (el.hidden) return;
        const since = (performance.now() - loadedAt) / 1000;
        const keep = new Set();
        let previous = null;
        for (const worker of workers) {
            keep.add(worker.id);
            const row = drawRow(worker, since);
            const next = previous ? previous.nextSibling : list.firstChild;
            if (next !== row) list.insertBefore(row, next);
            previous = row;
        }
        for (const [id, row] of rows) {
            if (!keep.has(id)) {
                row.el.remove();
                rows.delete(id);
            }
        }
    }

    const rows = new Map(); // worker id -> {el, key}

    function drawRow(worker, since) {
        const task = worker.current_task ? state.running.find((t) => t.id === worker.current_task) : null;
        const stateText = worker.paused && worker.state === "idle" ? "paused" : STATE_TEXT[worker.state] || worker.state;
        const progress = (worker.current_task && state.progress[worker.current_task]) || (task && task.progress);
        const taskText = worker.current_task ? (task ? title(task, 50) : worker.current_task.slice(0, 8)) : "";
        const percent = taskText && progress ? " · " + Math.round((Number(progress.fraction) || 0) * 100) + "%" : "";
        const live = worker.state !== "offline" && worker.state !== "stopped";
        const age = (live ? "heartbeat " : "last seen ") + ago(worker.heartbeat_age_s + since);
        const key = [worker.name, stateText, worker.paused, worker.checkpoint, taskText, worker.id === state.localWorker].join("|");
        let row = rows.get(worker.id);
        if (row && row.key === key) {
            // the age and the progress move all the time: changed in place, the buttons stay put
            row.age.textContent = age;
            if (row.task) row.task.textContent = taskText + percent;
            return row.el;
        }
        const taskEl = taskText ? h("div", {class: "tsq-worker-task", text: taskText + percent}) : null;
        const ageEl = h("span", {class: "tsq-worker-age", text: age});
        const path = "/workers/" + encodeURIComponent(worker.id);
        const actions = h("div", {class: "tsq-worker-actions"});
        if (live && !worker.paused) {
            append(actions, [
                button("Pause", () => act(api(path + "/pause", {method: "POST"})), {
                    class: "tsq-btn tsq-worker-pause",
                    title: "This worker takes no new task after its current one; the others go on",
                }),
                worker.state === "running"
                    ? button("Pause now", () => act(api(path + "/pause?now=true", {method: "POST"})), {
                          class: "tsq-btn tsq-worker-pause-now",
                          title: "Pause this worker and stop its task after the image in progress: the task keeps its images and makes the rest later",
                      })
                    : null,
            ]);
        } else if (live) {
            append(actions, [button("Resume", () => act(api(path + "/resume", {method: "POST"})), {class: "tsq-btn tsq-worker-resume"})]);
        } else {
            append(actions, [
                worker.paused
                    ? button("Resume", () => act(api(path + "/resume", {method: "POST"})), {class: "tsq-btn tsq-worker-resume"})
                    : null,
                button("Forget", () => act(api(path, {method: "DELETE"})), {
                    class: "tsq-btn tsq-worker-forget",
                    title: "Remove this worker from the list (it comes back when it starts again)",
                }),
            ]);
        }
        const rowEl = h(
            "div",
            {
                role: "listitem",
                class: "tsq-worker tsq-worker-" + worker.state + (worker.paused ? " tsq-worker-is-paused" : ""),
                dataset: {id: worker.id},
                title: worker.id + (worker.host ? " on " + worker.host : "") + (worker.pid ? ", pid " + worker.pid : ""),
            },
            h(
                "div",
                {class: "tsq-worker-head"},
                h("span", {class: "tsq-worker-name", text: worker.name}),
                worker.id === state.localWorker ? h("span", {class: "tsq-worker-here", text: "this WebUI"}) : null,
                h("span", {class: "tsq-badge tsq-worker-state tsq-worker-state-" + stateText, text: stateText}),
                worker.paused && worker.state === "running" ? h("span", {class: "tsq-badge tsq-paused", text: "pausing after this task"}) : null,
            ),
            worker.checkpoint
                ? h("div", {class: "tsq-worker-checkpoint", title: worker.checkpoint, text: shortCheckpoint(worker.checkpoint)})
                : null,
            taskEl,
            h("div", {class: "tsq-worker-foot"}, ageEl, actions),
        );
        if (row) row.el.replaceWith(rowEl);
        rows.set(worker.id, {el: rowEl, key, age: ageEl, task: taskEl});
        return rowEl;
    }

    function stop() {
        clearTimeout(timer);
    }

    tick();
    return {el, load, render, stop};
}

export {isLocal, mountWorkers, severalWorkers, workerName};
