// Task Scheduler: the Task Queue tab's "History" section: finished tasks, newest first, a page at
// a time, filtered by status, bookmark and a search; per-row and bulk actions (requeue, bookmark,
// delete). A filter or page change loads only this section.

import {append, button, clear, h, preview} from "./task_queue_dom.mjs";
import {duration, seconds, title, when} from "./task_queue_format.mjs";
import {batchBadge, bookmarkButton, facts, kindBadge, reconcile, renderBulk, runBulk, selectBox, warningMark} from "./task_queue_rows.mjs";

const HISTORY_PAGE = 50;
const STATUSES = ["done", "failed", "interrupted", "cancelled"];

/**
 * state: the tab's (history {tasks, total, offset, status, search, bookmarked}, selected.history,
 * editing, error, timings.pageSwitch); api, act (run an action, then refresh),
 * renderNotice (shows state.error), openDetails(taskId). Returns {el, load, render}: the tab
 * calls load() with every refresh of the queue, then render().
 */
function mountHistory({state, api, act, renderNotice, openDetails}) {
    const rows = new Map();
    const editingId = (task) => state.editing && state.editing.id === task.id;
    const ui = {};
    let searchTimer = null;

    ui.statusFilter = h(
        "select",
        {class: "tsq-input tsq-status-filter", "aria-label": "Status", onchange: () => setHistory({status: ui.statusFilter.value})},
        h("option", {value: "", text: "All"}),
        STATUSES.map((s) => h("option", {value: s, text: s[0].toUpperCase() + s.slice(1)})),
    );
    ui.search = h("input", {
        class: "tsq-input tsq-search",
        type: "search",
        placeholder: "Search name, prompt, checkpoint",
        "aria-label": "Search the history",
        oninput: () => {
            clearTimeout(searchTimer);
            searchTimer = setTimeout(() => setHistory({search: ui.search.value.trim()}), 250);
        },
    });
    ui.bookmarked = h("input", {
        type: "checkbox",
        class: "tsq-bookmarked-filter",
        onchange: () => setHistory({bookmarked: ui.bookmarked.checked}),
    });
    ui.tools = h("div", {class: "tsq-bulk"});
    ui.list = h("div", {class: "tsq-list tsq-history-list", role: "list", "aria-label": "Finished tasks"});
    ui.pager = h("div", {class: "tsq-pager"});
    ui.count = h("span", {class: "tsq-count"});
    const el = h(
        "section",
        {class: "tsq-section tsq-history"},
        h(
            "div",
            {class: "tsq-h-row"},
            h("div", {class: "tsq-h", role: "heading", "aria-level": "3"}, "History ", ui.count),
            h(
                "div",
                {class: "tsq-actions"},
                button("Requeue all failed", () => act(api("/tasks/requeue-failed", {method: "POST"}))),
                button("Clear history", () => {
                    if (confirm("Delete every finished task that is not bookmarked?")) {
                        act(api("/history/clear", {method: "POST"}));
                    }
                }),
            ),
        ),
        h(
            "div",
            {class: "tsq-filters"},
            ui.statusFilter,
            ui.search,
            h("label", {class: "tsq-check"}, ui.bookmarked, " Bookmarked"),
        ),
        ui.tools,
        ui.list,
        ui.pager,
    );

    function bulk(action) {
        return runBulk(api, act, action, state.selected.history, state.history.tasks.map((t) => t.id));
    }

    function historyQuery() {
        const hist = state.history;
        const params = new URLSearchParams({limit: String(HISTORY_PAGE), offset: String(hist.offset)});
        if (hist.status) params.set("status", hist.status);
        if (hist.search) params.set("search", hist.search);
        if (hist.bookmarked) params.set("bookmarked", "true");
        return "/history?" + params.toString();
    }

    async function load() {
        const data = await api(historyQuery());
        state.history.tasks = data.tasks;
        state.history.total = data.total;
        if (data.tasks.length === 0 && state.history.offset > 0 && data.total > 0) {
            state.history.offset = Math.max(0, (Math.ceil(data.total / HISTORY_PAGE) - 1) * HISTORY_PAGE);
            return load();
        }
    }

    function setHistory(changes) {
        Object.assign(state.history, changes, {offset: changes.offset !== undefined ? changes.offset : 0});
        state.selected.history.clear();
        const started = performance.now();
        load()
            .then(() => {
                render();
                state.timings.pageSwitch.push(performance.now() - started);
            })
            .catch((err) => {
                state.error = err.message;
                renderNotice();
            });
    }

    function historyRow(task, selected) {
        const took = seconds(task);
        const actions = [
            button("Details", () => openDetails(task.id), {class: "tsq-btn tsq-open"}),
            button("Requeue", () => act(api("/tasks/" + task.id + "/requeue", {method: "POST"})), {class: "tsq-btn tsq-requeue"}),
            bookmarkButton(task, api, act),
            button("Delete", () => act(api("/tasks/" + task.id, {method: "DELETE"})), {class: "tsq-btn tsq-delete"}),
        ];
        return h(
            "div",
            {role: "listitem", class: "tsq-row tsq-history-row" + (selected ? " tsq-selected" : ""), dataset: {id: task.id, status: task.status}},
            h(
                "div",
                {class: "tsq-row-main"},
                selectBox(task, state.selected.history, selected, render),
                h("span", {class: "tsq-badge tsq-state tsq-state-" + task.status, text: task.status}),
                kindBadge(task),
                warningMark(task),
                batchBadge(task),
                task.result && task.result.images && task.result.images.length
                    ? h("img", {
                          class: "tsq-thumb",
                          loading: "lazy",
                          alt: "",
                          src: api.base + "/tasks/" + encodeURIComponent(task.id) + "/results/0?thumbnail=96",
                          onclick: () => openDetails(task.id),
                      })
                    : h("span", {class: "tsq-thumb tsq-no-thumb"}),
                h(
                    "div",
                    {class: "tsq-row-text" + (task.name ? "" : " tsq-untitled")},
                    h("div", {class: "tsq-name", text: title(task, 200)}),
                    h("div", {class: "tsq-prompt", text: preview(task.params && task.params.prompt, 200)}),
                    task.error ? h("div", {class: "tsq-error-line", text: preview(task.error, 200)}) : null,
                    facts(task),
                ),
                h(
                    "span",
                    {class: "tsq-time", title: "queued " + when(task.created_at)},
                    when(task.finished_at || task.created_at),
                    took !== null ? h("span", {class: "tsq-took", text: " · " + duration(took)}) : null,
                ),
                h("div", {class: "tsq-row-actions"}, actions),
            ),
        );
    }

    function render() {
        const hist = state.history;
        reconcile(ui.list, rows, hist.tasks, state.selected.history, historyRow, editingId);
        ui.count.textContent = "(" + hist.total + ")";
        if (ui.statusFilter.value !== hist.status) ui.statusFilter.value = hist.status;
        const pages = Math.max(1, Math.ceil(hist.total / HISTORY_PAGE));
        const page = Math.floor(hist.offset / HISTORY_PAGE) + 1;
        const key = [page, pages, hist.total].join("/");
        if (ui.pager.dataset.key !== key) {
            ui.pager.dataset.key = key;
            clear(ui.pager);
            if (!hist.total) {
                append(ui.pager, [h("span", {class: "tsq-empty", text: hist.search || hist.status || hist.bookmarked ? "Nothing matches." : "No finished task yet."})]);
            } else {
                append(ui.pager, [
                    button("« Newer", () => setHistory({offset: Math.max(0, hist.offset - HISTORY_PAGE)}), {
                        class: "tsq-btn tsq-prev",
                        disabled: page <= 1,
                    }),
                    h("span", {class: "tsq-page", text: "Page " + page + " of " + pages}),
                    button("Older »", () => setHistory({offset: hist.offset + HISTORY_PAGE}), {
                        class: "tsq-btn tsq-next",
                        disabled: page >= pages,
                    }),
                ]);
            }
        }
        const actions = [
            ["Requeue", () => bulk("requeue")],
            ["Bookmark", () => bulk("bookmark")],
            ["Delete", () => bulk("delete")],
        ];
        renderBulk(ui.tools, state.selected.history, actions, render);
    }

    return {el, load, render};
}

export {mountHistory};
