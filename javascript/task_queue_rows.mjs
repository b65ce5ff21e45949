// Task Scheduler: what the Task Queue tab's task lists (Waiting, History) share: keyed rows that
// are rebuilt only when their own data changed (so scroll position, focus and selection survive
// every update), the parts every row has (kind badge, facts, select box, bookmark), and the bar
// of actions on the selected rows.

import {append, button, clear, h} from "./task_queue_dom.mjs";
import {imageCount, size, title} from "./task_queue_format.mjs";

function kindBadge(task) {
    return h("span", {class: "tsq-badge tsq-kind tsq-kind-" + task.kind, text: task.kind});
}

/** "batch of 4" on a task that ran (runs) in one WebUI batch with others of ``tasks``; else null. */
function batchBadge(task, tasks) {
    if (!task.batch_id) return null;
    const size = tasks.filter((other) => other.batch_id === task.batch_id).length;
    return h("span", {
        class: "tsq-badge tsq-batch",
        title: "ran as one WebUI batch with the other tasks marked so (batch " + task.batch_id.slice(0, 8) + ")",
        text: size > 1 ? "batch of " + size : "batch",
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

export {batchBadge, bookmarkButton, facts, kindBadge, reconcile, renderBulk, runBulk, selectBox};
