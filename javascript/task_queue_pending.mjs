// Task Scheduler: the Task Queue tab's "Waiting" section: the pending tasks in run order, with
// per-row actions, the edit form (task_queue_edit.mjs), bulk actions on the selected rows, and
// reordering by drag and drop (mouse, pen, touch) or by keyboard on the row's handle.

import {append, button, clear, h, preview} from "./task_queue_dom.mjs";
import {mountEdit} from "./task_queue_edit.mjs";
import {title, when} from "./task_queue_format.mjs";
import {bookmarkButton, facts, kindBadge, reconcile, renderBulk, runBulk, selectBox, waitsFor, warningMark} from "./task_queue_rows.mjs";

const PENDING_PAGE = 200;

/**
 * state: the tab's (pending, totalPending, pendingLimit, paused, selected.pending, editing,
 * focusHandle); api, act (run an action, then refresh), refresh, openDetails(taskId).
 * Returns {el, render}.
 */
function mountPending({state, api, act, refresh, openDetails}) {
    const rows = new Map();
    const edit = mountEdit({state, api, refresh, render: () => render()});
    const editingId = (task) => state.editing && state.editing.id === task.id;
    let drag = null;
    const ui = {
        tools: h("div", {class: "tsq-bulk"}),
        list: h("div", {class: "tsq-list tsq-pending-list", role: "list", "aria-label": "Waiting tasks"}),
        more: h("div", {class: "tsq-more"}),
        count: h("span", {class: "tsq-count"}),
    };
    const el = h(
        "section",
        {class: "tsq-section tsq-pending"},
        h("div", {class: "tsq-h", role: "heading", "aria-level": "3"}, "Waiting ", ui.count),
        ui.tools,
        ui.list,
        ui.more,
    );

    function bulk(action) {
        return runBulk(api, act, action, state.selected.pending, state.pending.map((t) => t.id));
    }

    function render() {
        // a row is rebuilt when its edit form opens or closes, or what it waits for changes
        const extra = (task) => [editingId(task), waitsFor(task, state.workers)];
        reconcile(ui.list, rows, state.pending, state.selected.pending, pendingRow, extra);
        ui.count.textContent = "(" + state.totalPending + ")";
        clear(ui.more);
        if (state.totalPending > state.pending.length) {
            append(ui.more, [
                "Showing " + state.pending.length + " of " + state.totalPending + ". ",
                button("Show more", () => {
                    state.pendingLimit += PENDING_PAGE;
                    refresh();
                }),
            ]);
        } else if (!state.pending.length) {
            append(ui.more, [h("span", {class: "tsq-empty", text: "No task is waiting."})]);
        }
        const actions = [
            ["Move to top", () => bulk("top")],
            ["Move to bottom", () => bulk("bottom")],
            ["Delete", () => bulk("delete")],
        ];
        renderBulk(ui.tools, state.selected.pending, actions, render);
        if (state.focusHandle) {
            const entry = rows.get(state.focusHandle);
            if (entry) entry.el.querySelector(".tsq-handle").focus();
            state.focusHandle = null;
        }
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
                selectBox(task, state.selected.pending, selected, render),
                h("span", {class: "tsq-position", text: task.position ? "#" + task.position : ""}),
                kindBadge(task),
                warningMark(task),
                h(
                    "div",
                    {class: "tsq-row-text" + (task.name ? "" : " tsq-untitled")},
                    h("div", {class: "tsq-name", text: title(task, 200)}),
                    h("div", {class: "tsq-prompt", text: preview(task.params && task.params.prompt, 200)}),
                    facts(task),
                    waitsFor(task, state.workers) ? h("div", {class: "tsq-waits", text: waitsFor(task, state.workers)}) : null,
                ),
                h("span", {class: "tsq-time", text: when(task.created_at)}),
                h(
                    "div",
                    {class: "tsq-row-actions"},
                    button("Run now", () => act(api("/tasks/" + task.id + "/run-now", {method: "POST"})), {
                        class: "tsq-btn tsq-run-now",
                        title: state.paused ? "Run exactly this task, the queue stays paused" : "Run this task next, even outside the run windows or before its start time",
                    }),
                    button("Top", () => act(api("/tasks/" + task.id + "/move", {method: "POST", body: {to: "top"}})), {
                        class: "tsq-btn tsq-top",
                    }),
                    button("Bottom", () => act(api("/tasks/" + task.id + "/move", {method: "POST", body: {to: "bottom"}})), {
                        class: "tsq-btn tsq-bottom",
                    }),
                    bookmarkButton(task, api, act),
                    task.repeat && !task.repeat.stopped
                        ? button("Stop repeating", () => act(api("/tasks/" + task.id + "/stop-repeating", {method: "POST"})), {
                              class: "tsq-btn tsq-stop-repeating",
                              title: "No further round after this one; nothing is deleted",
                          })
                        : null,
                    button("Edit", () => edit.open(task), {class: "tsq-btn tsq-edit-btn", dataset: {focus: "edit"}}),
                    button("Details", () => openDetails(task.id), {class: "tsq-btn tsq-open"}),
                    button("Delete", () => act(api("/tasks/" + task.id, {method: "DELETE"})), {class: "tsq-btn tsq-delete"}),
                ),
            ),
        );
        if (state.editing && state.editing.id === task.id) row.appendChild(state.editing.form);
        return row;
    }

    // -- reordering: pointer (mouse, pen, touch) and keyboard -------------------------------------

    function startDrag(event, taskId) {
        if (event.button !== undefined && event.button !== 0) return;
        const entry = rows.get(taskId);
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
            const el = rows.get(task.id).el;
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
        if (target && target.el) ui.list.insertBefore(drag.marker, target.el);
        else if (target) ui.list.appendChild(drag.marker);
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
        render();
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

    return {el, render};
}

export {PENDING_PAGE, mountPending};
