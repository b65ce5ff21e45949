// Task Scheduler: what the Task Queue tab's task lists (Waiting, History) share: keyed rows that
// are rebuilt only when their own data changed (so scroll position, focus and selection survive
// every update), the parts every row has (kind badge, facts, select box, bookmark), and the bar
// of actions on the selected rows.

import {append, button, clear, h} from "./task_queue_dom.mjs";
import {imageCount, size, title} from "./task_queue_format.mjs";

const FAMILY_NAMES = {forge: "a Forge WebUI", neo: "a Forge Neo WebUI", a1111: "an AUTOMATIC1111 WebUI"};

/**
 * What a pending task captured by one WebUI family's Queue button waits for when no live,
 * unpaused worker of that family is in the queue ("waits for a Forge WebUI"); "" when one is, or
 * when the workers are not known.
 */
function waitsFor(task, workers) {
    const family = task.needs_webui;
    if (!family || task.status !== "pending" || !(workers || []).length) return "";
    const ready = (w) => w.state !== "offline" && w.state !== "stopped" && !w.paused;
    const live = workers.some((w) => ready(w) && w.info && w.info.webui === family);
    return live ? "" : "waits for " + (FAMILY_NAMES[family] || family + " WebUI");
}

function kindBadge(task) {
    return h("span", {class: "tsq-badge tsq-kind tsq-kind-" + task.kind, text: task.kind});
}

/** "round 2 of 3", "round 4, until stopped" (a repeating task, or a task of a repeating job). */
function roundText(task) {
    const r = task.repeat;
    if (r) {
        const of = r.until_stopped ? ", until stopped" : " of " + r.times;
        return "round " + r.round + (r.stopped ? " (last)" : of);
    }
    return task.round > 1 ? "round " + task.round : "";
}

/** "starts 01:00" (today), "starts Sat 01:00": a task waiting for its start time. */
function startText(task) {
    if (!task.not_before || task.status !== "pending") return "";
    const at = new Date(task.not_before);
    if (at.getTime() <= Date.now()) return "";
    const time = at.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"});
    const sameDay = at.toDateString() === new Date().toDateString();
    return "starts " + (sameDay ? time : at.toLocaleDateString([], {weekday: "short"}) + " " + time);
}

/** "batch of 4" on a task that ran (runs) in one WebUI batch; else null. The size is the store's
 * (``batch_size``): a list shows one page, or the part of a batch already recorded as finished. */
function batchBadge(task) {
    if (!task.batch_id) return null;
    const size = task.batch_size || 1;
    return h("span", {
        class: "tsq-badge tsq-batch",
        title: "ran as one WebUI batch with the other tasks marked so (batch " + task.batch_id.slice(0, 8) + ")",
        text: size > 1 ? "batch of " + size : "batch",
    });
}

function facts(task) {
    const p = task.params || {};
    const items = [
        ["start", startText(task)],
        ["round", roundText(task)],
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

/** The row's checkbox: adds to / removes from `selected`, then `onChange()` (a redraw). */
function selectBox(task, selected, checked, onChange) {
    return h("input", {
        type: "checkbox",
        class: "tsq-select",
        checked,
        "aria-label": "Select " + title(task),
        dataset: {focus: "select"},
        onchange: (event) => {
            if (event.target.checked) selected.add(task.id);
            else selected.delete(task.id);
            onChange();
        },
    });
}

function bookmarkButton(task, api, act) {
    const on = task.bookmarked;
    return button(on ? "★" : "☆", () => act(api("/tasks/" + task.id + (on ? "/unbookmark" : "/bookmark"), {method: "POST"})), {
        class: "tsq-btn tsq-bookmark" + (on ? " tsq-on" : ""),
        title: on ? "Remove the bookmark" : "Bookmark (kept when the history is cleared)",
        "aria-pressed": String(on),
        "aria-label": "Bookmark",
    });
}

/** A warned task's mark: "⚠ N", the warnings as its tooltip (they are listed in its details). */
function warningMark(task) {
    const warnings = task.warnings || [];
    if (!warnings.length) return null;
    return h("span", {
        class: "tsq-warned",
        text: "⚠ " + warnings.length,
        title: "Queued with " + (warnings.length === 1 ? "a warning" : warnings.length + " warnings") + ":\n" + warnings.join("\n"),
        "aria-label": warnings.length + " warnings",
    });
}

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
        task.warnings,
        task.not_before,
        task.repeat,
        task.round,
        extra,
    ]);
}

/**
 * Bring `list` to show `tasks` in order, reusing the row elements in `map` (task id -> {el, sig})
 * whose data did not change. `build(task, selected)` makes a row; `extra(task)` is what else a row
 * shows (it is rebuilt when that changes). Ids no longer listed leave `selected`.
 */
function reconcile(list, map, tasks, selected, build, extra) {
    const seen = new Set();
    let previous = null;
    for (const task of tasks) {
        seen.add(task.id);
        const isSelected = selected.has(task.id);
        const sig = signature(task, [isSelected, extra(task)]);
        let entry = map.get(task.id);
        if (!entry || entry.sig !== sig) {
            const el = build(task, isSelected);
            if (entry) {
                const hadFocus = entry.el.contains(document.activeElement) ? focusName() : null;
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
    for (const id of [...selected]) if (!seen.has(id)) selected.delete(id);
}

function focusName() {
    const active = document.activeElement;
    return active && active.dataset ? active.dataset.focus || null : null;
}

function restoreFocus(el, name) {
    const target = el.querySelector('[data-focus="' + name + '"]');
    if (target) target.focus();
}

/** The "N selected" bar: `actions` ([label, fn]) and "Select none" (clears, then `onChange()`). */
function renderBulk(host, selected, actions, onChange) {
    const count = selected.size;
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
            selected.clear();
            onChange();
        }),
    ]);
}

/** One bulk action on the selected tasks, in the order `order` (ids) lists them. */
async function runBulk(api, act, action, selected, order) {
    const ids = [...selected];
    ids.sort((a, b) => order.indexOf(a) - order.indexOf(b));
    if (action === "delete" && !confirm("Delete " + ids.length + " task(s)?")) return;
    selected.clear();
    await act(api("/tasks/bulk", {method: "POST", body: {action, ids}}), (answer) => {
        const failed = answer.results.filter((r) => !r.ok);
        if (failed.length) throw new Error(failed.length + " not done: " + failed[0].error);
    });
}

export {batchBadge, bookmarkButton, facts, kindBadge, reconcile, renderBulk, runBulk, selectBox, waitsFor, warningMark};
