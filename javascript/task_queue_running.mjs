// Task Scheduler: the Task Queue tab's running tasks, one card each (several workers run several
// at once): title, prompt, progress, where it runs, Interrupt / Skip / Details. A task running in
// this WebUI gets the WebUI's own progress bar and live preview; any other (another worker's, or
// outside the WebUI) has its progress polled once a second while it runs, from the store its
// worker writes it to. Nothing else here polls.

import {button, h, preview} from "./task_queue_dom.mjs";
import {duration, title} from "./task_queue_format.mjs";
import {batchBadge, kindBadge} from "./task_queue_rows.mjs";
import {isLocal, severalWorkers, workerName} from "./task_queue_workers.mjs";

const PROGRESS_POLL_MS = 1000;

/**
 * state: the tab's (running, workers, localWorker, stopped); api, act (run an action, then
 * refresh), openDetails(taskId), inWebUI() (whether the WebUI's progress API is there),
 * onProgress() (told when a task's progress in state.progress moved).
 * Returns {el, render, stop}; hidden while nothing runs.
 */
function mountRunning({state, api, act, openDetails, inWebUI, onProgress}) {
    const el = h("div", {class: "tsq-running"});
    const cards = new Map(); // task id -> {el, key, ui}
    let progressTimer = null;
    let webuiProgressFor = null;

    function render() {
        const ids = new Set(state.running.map((task) => task.id));
        for (const [id, card] of cards) {
            if (!ids.has(id)) {
                card.el.remove();
                cards.delete(id);
                delete state.progress[id];
            }
        }
        let previous = null;
        for (const task of state.running) {
            const where = whereText(task);
            const batch = task.batch_id ? state.running.filter((t) => t.batch_id === task.batch_id).length : 0;
            const key = [task.name, task.params && task.params.prompt, task.worker, where, batch].join("|");
            let card = cards.get(task.id);
            if (!card || card.key !== key) {
                const fresh = buildCard(task, where, key);
                if (card) card.el.replaceWith(fresh.el);
                card = fresh;
                cards.set(task.id, card);
            }
            // keep the order of state.running
            const next = previous ? previous.nextSibling : el.firstChild;
            if (next !== card.el) el.insertBefore(card.el, next);
            previous = card.el;
            showProgress(card, task.progress);
        }
        el.hidden = !state.running.length;
        schedulePoll();
    }

    /** "running on gpu1" (elsewhere), "running here, on gpu0" (this WebUI); "" with one worker. */
    function whereText(task) {
        if (!task.worker || !severalWorkers(state)) return "";
        const name = workerName(state, task.worker);
        return task.worker === state.localWorker ? "running here, on " + name : "running on " + name;
    }

    function buildCard(task, where, key) {
        const ui = {};
        ui.progressBar = h("div", {class: "tsq-progress-bar"});
        ui.progressText = h("span", {class: "tsq-progress-text"});
        ui.progress = h(
            "div",
            {class: "tsq-progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100"},
            ui.progressBar,
            ui.progressText,
        );
        ui.previewHost = h("div", {class: "tsq-preview"});
        const cardEl = h(
            "div",
            {class: "tsq-current", dataset: {id: task.id}},
            h(
                "div",
                {class: "tsq-current-main"},
                h(
                    "div",
                    {class: "tsq-current-title"},
                    kindBadge(task),
                    batchBadge(task),
                    h("span", {class: "tsq-title", text: title(task, 120)}),
                    where ? h("span", {class: "tsq-badge tsq-where", text: where}) : null,
                ),
                task.name ? h("div", {class: "tsq-prompt", text: preview(task.params && task.params.prompt, 300)}) : null,
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
        );
        const card = {el: cardEl, key, ui, polled: true};
        // The WebUI's own bar and live preview exist only for a task of this WebUI's own worker:
        // the WebUI's progress API knows nothing of a task another process runs.
        ui.previewHost.hidden = true;
        if (inWebUI() && isLocal(state, task) && webuiProgressFor !== task.id && leadsItsBatch(task)) {
            webuiProgressFor = task.id;
            ui.progress.hidden = true;
            ui.previewHost.hidden = false;
            try {
                window.requestProgress(
                    "task(" + task.id + ")",
                    ui.progress,
                    ui.previewHost,
                    () => {
                        if (webuiProgressFor === task.id) webuiProgressFor = null;
                    },
                    (answer) => noteProgress(task.id, {fraction: answer && answer.progress}),
                );
                card.polled = false;
            } catch (err) {
                ui.progress.hidden = false;
                ui.previewHost.hidden = true;
            }
        }
        return card;
    }

    /** The WebUI knows a batch by its first task (it runs as that one's Generate); the other
     * tasks of the batch show the progress the queue keeps for each of them. */
    function leadsItsBatch(task) {
        if (!task.batch_id) return true;
        const first = state.running.find((other) => other.batch_id === task.batch_id);
        return !first || first.id === task.id;
    }

    /** The latest progress of a running task, for the Workers strip (state.progress). */
    function noteProgress(taskId, progress) {
        if (!progress || progress.fraction === undefined || progress.fraction === null) return;
        state.progress[taskId] = progress;
        if (onProgress) onProgress();
    }

    function showProgress(card, progress) {
        const ui = card.ui;
        if (!progress) return;
        noteProgress(card.el.dataset.id, progress);
        const fraction = Math.max(0, Math.min(1, Number(progress.fraction) || 0));
        ui.progressBar.style.width = (fraction * 100).toFixed(1) + "%";
        ui.progress.setAttribute("aria-valuenow", String(Math.round(fraction * 100)));
        let text = Math.round(fraction * 100) + "%";
        if (progress.eta_s) text += " · " + duration(progress.eta_s) + " left";
        if (progress.text) text = progress.text + " · " + text;
        ui.progressText.textContent = text;
    }

    // One timer for every card whose progress is polled; it stops when none is left.
    function schedulePoll() {
        const polled = [...cards.entries()].filter(([, card]) => card.polled);
        if (!polled.length || state.stopped) {
            clearTimeout(progressTimer);
            progressTimer = null;
            return;
        }
        if (progressTimer === null) progressTimer = setTimeout(poll, PROGRESS_POLL_MS);
    }

    async function poll() {
        await Promise.all(
            [...cards.entries()]
                .filter(([, card]) => card.polled)
                .map(async ([id, card]) => {
                    try {
                        const fresh = await api("/tasks/" + id);
                        if (fresh.status === "running" && cards.get(id) === card) showProgress(card, fresh.progress);
                    } catch (err) {
                        // the long-poll will notice the task ended
                    }
                }),
        );
        progressTimer = null;
        schedulePoll();
    }

    function stop() {
        clearTimeout(progressTimer);
        progressTimer = null;
        for (const card of cards.values()) card.polled = false;
    }

    return {el, render, stop};
}

export {mountRunning};
