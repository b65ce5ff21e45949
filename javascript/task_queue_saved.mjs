// Task Scheduler: the Task Queue tab's "Saved" section — saved tasks (named templates).
//
// The tab mounts it with its own API client and its load-into-the-WebUI bridge, so a page has
// one of each: `mountSaved(host, {api, load})`, where `api(path, init)` answers JSON or throws
// an Error with a readable message, and `load(savedId, target)` (absent outside the WebUI)
// pastes a saved task into txt2img / img2img. The tab calls `refresh()` when the queue changes.
// Names and prompts go into the page with textContent only.

import {button as btn, clear, h, preview} from "./task_queue_dom.mjs";

const EDIT_FIELDS = [
    // [param, label, kind]
    ["prompt", "Prompt", "textarea"],
    ["negative_prompt", "Negative prompt", "textarea"],
    ["steps", "Steps", "int"],
    ["cfg_scale", "CFG scale", "float"],
    ["width", "Width", "int"],
    ["height", "Height", "int"],
    ["seed", "Seed", "int"],
];

function mountSaved(root, options) {
    const api = options.api;
    // times / newSeeds: what the user set on each row, kept across redraws
    const state = {items: [], total: 0, editing: null, renaming: null, error: "", message: "", shown: "",
        times: {}, newSeeds: {}};
    const ui = {
        notice: h("div", {class: "tsq-saved-notice", role: "status"}),
        list: h("div", {class: "tsq-saved-list"}),
    };
    clear(root).append(ui.notice, ui.list);

    async function act(promise, message) {
        try {
            await promise;
            state.error = "";
            state.message = message || "";
        } catch (err) {
            state.error = err.message || String(err);
            state.message = "";
        }
        await refresh();
    }

    async function refresh() {
        try {
            const data = await api("/saved?limit=200");
            state.items = data.saved;
            state.total = data.total;
        } catch (err) {
            state.error = err.message || String(err);
        }
        if (state.editing === null && state.renaming === null) render();  // never under the user's typing
    }

    function render() {
        const shown = JSON.stringify([state.items, state.error, state.message, state.editing, state.renaming]);
        if (shown === state.shown) return;  // nothing changed: leave the rows (and focus) alone
        state.shown = shown;
        draw();
    }

    function showNotice() {
        ui.notice.textContent = state.error || state.message;
        ui.notice.className = "tsq-saved-notice" + (state.error ? " tsq-saved-error" : "");
    }

    function draw() {
        showNotice();
        clear(ui.list);
        if (!state.items.length) {
            ui.list.append(h("p", {class: "tsq-empty", text: "No saved tasks. Use “Save as…” in the Queue button's menu, or “Save” on a task."}));
            return;
        }
        for (const item of state.items) ui.list.append(row(item));
    }

    function row(item) {
        const count = h("input", {type: "number", min: 1, max: 1000, value: state.times[item.id] || 1, class: "tsq-input tsq-saved-times",
            "aria-label": "How many tasks", oninput: () => (state.times[item.id] = count.value)});
        const newSeeds = h("input", {type: "checkbox", class: "tsq-saved-new-seeds", checked: !!state.newSeeds[item.id],
            onchange: () => (state.newSeeds[item.id] = newSeeds.checked)});
        const queueIt = () => {
            // what the user set on this row, even if the row was redrawn since (state, not the element)
            const times = Math.max(1, Math.min(1000, parseInt(state.times[item.id] || count.value, 10) || 1));
            const body = {times, new_seeds: newSeeds.checked || times > 1};
            const words = times === 1 ? "1 task" : times + " tasks";
            act(api("/saved/" + encodeURIComponent(item.id) + "/queue", {method: "POST", body}), "Queued " + words + " from '" + item.name + "'");
        };
        const summary = [item.kind, item.checkpoint ? item.checkpoint.replace(/ \[[0-9a-f]+\]$/, "") : null]
            .filter(Boolean).join(" · ");
        const buttons = [
            btn("Queue", queueIt, {class: "tsq-btn tsq-saved-queue"}),
            count,
            h("label", {class: "tsq-saved-seeds-label"}, newSeeds, " new seeds"),
            btn("Edit", () => { state.editing = state.editing === item.id ? null : item.id; render(); }, {class: "tsq-btn tsq-saved-edit"}),
            btn("Rename", () => { state.renaming = item.id; render(); }, {class: "tsq-btn tsq-saved-rename"}),
            btn("Delete", () => {
                if (window.confirm("Delete the saved task '" + item.name + "'?")) {
                    act(api("/saved/" + encodeURIComponent(item.id), {method: "DELETE"}), "Deleted '" + item.name + "'");
                }
            }, {class: "tsq-btn tsq-saved-delete"}),
        ];
        if (options.load) {
            buttons.push(btn("Load into " + item.kind, () => options.load(item.id, "load_" + item.kind), {class: "tsq-btn tsq-saved-load"}));
        }
        const title = state.renaming === item.id ? renameForm(item) : h("strong", {class: "tsq-saved-name", text: item.name});
        return h(
            "div",
            {class: "tsq-saved-row", dataset: {id: item.id}},
            h("div", {class: "tsq-saved-title"}, title, h("span", {class: "tsq-muted", text: " " + summary})),
            h("div", {class: "tsq-saved-prompt", text: preview(item.params.prompt, 160)}),
            h("div", {class: "tsq-saved-actions"}, buttons),
            state.editing === item.id ? editForm(item) : null,
        );
    }

    function renameForm(item) {
        const input = h("input", {type: "text", value: item.name, maxLength: 200, class: "tsq-input tsq-saved-rename-input", "aria-label": "New name"});
        const save = () => {
            state.renaming = null;
            act(api("/saved/" + encodeURIComponent(item.id), {method: "PATCH", body: {name: input.value}}), "Renamed");
        };
        input.addEventListener("keydown", (e) => {
            if (e.key === "Enter") save();
            if (e.key === "Escape") { state.renaming = null; render(); }
        });
        setTimeout(() => input.focus(), 0);
        return h("span", {class: "tsq-saved-rename-form"}, input, btn("OK", save));
    }

    function editForm(item) {
        const inputs = {};
        const fields = EDIT_FIELDS.filter(([name]) => name in item.params).map(([name, label, kind]) => {
            const value = item.params[name];
            const input = kind === "textarea"
                ? h("textarea", {rows: 2, value: value == null ? "" : String(value)})
                : h("input", {type: "number", step: kind === "float" ? "any" : "1", value: value == null ? "" : String(value)});
            input.className = "tsq-input tsq-saved-field-" + name;
            inputs[name] = [input, kind];
            return h("label", {class: "tsq-saved-field"}, h("span", {text: label}), input);
        });
        const save = () => {
            const params = {};
            for (const [name, [input, kind]] of Object.entries(inputs)) {
                const raw = input.value;
                params[name] = kind === "textarea" ? raw : kind === "int" ? parseInt(raw, 10) : parseFloat(raw);
                if (kind !== "textarea" && !isFinite(params[name])) params[name] = raw;  // the server names it
            }
            api("/saved/" + encodeURIComponent(item.id), {method: "PATCH", body: {params}})
                .then(() => { state.editing = null; state.error = ""; state.message = "Saved '" + item.name + "'"; return refresh(); })
                .catch((err) => { state.error = err.message || String(err); showNotice(); });  // keep what was typed
        };
        return h("div", {class: "tsq-saved-editor"}, fields, h("div", {class: "tsq-saved-actions"}, btn("Save changes", save, {class: "tsq-btn tsq-saved-save"}), btn("Cancel", () => { state.editing = null; render(); })));
    }

    refresh();
    return {refresh};
}

export {mountSaved};
