// Task Scheduler: the edit form of a waiting task in the Task Queue tab (name, prompts, checkpoint,
// sampler, numbers, its start time and repetition), checked in the page first and then by the server, each problem shown beside
// its field. The Waiting section opens it under the task's row: `state.editing` holds the open
// form ({id, form, inputs, errors, general, task}), which that section draws into the row.

import {ApiError, fieldOf} from "./task_queue_api.mjs";
import {button, h} from "./task_queue_dom.mjs";

const EDIT_FIELDS = [
    // [param, label, kind, min, max, "if-present": only for tasks whose params have it]
    ["prompt", "Prompt", "textarea"],
    ["negative_prompt", "Negative prompt", "textarea"],
    ["checkpoint", "Checkpoint", "checkpoint"],
    ["sampler_name", "Sampler", "sampler"],
    ["steps", "Steps", "int", 1, 10000],
    ["cfg_scale", "CFG scale", "float", 0, 100],
    ["width", "Width", "int", 8, 65536],
    ["height", "Height", "int", 8, 65536],
    ["seed", "Seed", "int", -1, 4294967295],
    ["batch_size", "Batch size", "int", 1, 1000],
    ["n_iter", "Batch count", "int", 1, 10000],
    // Forge / Forge Neo only: shown for tasks that carry them (A1111 has no such control)
    ["distilled_cfg_scale", "Distilled CFG", "float", 0, 100, "if-present"],
    ["hr_cfg", "Hires CFG", "float", 0, 100, "if-present"],
    ["hr_distilled_cfg", "Hires distilled CFG", "float", 0, 100, "if-present"],
];

/** An ISO time as a datetime-local input's value (this browser's clock, to the minute); "" for none. */
function localInput(iso) {
    if (!iso) return "";
    const at = new Date(iso);
    const pad = (n) => String(n).padStart(2, "0");
    return at.getFullYear() + "-" + pad(at.getMonth() + 1) + "-" + pad(at.getDate()) + "T" + pad(at.getHours()) + ":" + pad(at.getMinutes());
}

/**
 * The form's actions. `render()` redraws the Waiting list (the row shows or drops the form);
 * `refresh()` reloads the tab after a save. The checkpoint and sampler choices are fetched once.
 */
function mountEdit({state, api, refresh, render}) {
    async function loadChoices() {
        if (state.samplers === null) state.samplers = await api("/samplers").catch(() => []);
        if (state.checkpoints === null) state.checkpoints = await api("/checkpoints").catch(() => []);
    }

    async function openEdit(task) {
        if (state.editing && state.editing.id === task.id) {
            closeEdit();
            return;
        }
        await loadChoices();
        const inputs = {};
        const errors = {};
        const p = task.params || {};
        const field = ([name, label, kind, min, max]) => {
            const value = name === "name" ? task.name : name === "checkpoint" ? task.checkpoint || "" : p[name];
            let input;
            if (kind === "textarea") {
                input = h("textarea", {class: "tsq-input", rows: name === "prompt" ? 3 : 2, value: value === undefined ? "" : String(value)});
            } else if (kind === "checkpoint" || kind === "sampler") {
                const choices = kind === "checkpoint" ? state.checkpoints : state.samplers;
                input = h("input", {class: "tsq-input", value: value === undefined ? "" : String(value)});
                const list = h("datalist", {id: "tsq-" + kind + "-" + task.id}, (choices || []).map((c) => h("option", {value: c})));
                input.setAttribute("list", list.id);
                input.placeholder = kind === "checkpoint" ? "current checkpoint" : "";
                errors[name] = h("div", {class: "tsq-field-error", role: "alert"});
                inputs[name] = input;
                return h("label", {class: "tsq-field tsq-field-" + name}, h("span", {text: label}), input, list, errors[name]);
            } else {
                input = h("input", {
                    class: "tsq-input",
                    type: "number",
                    step: kind === "int" ? "1" : "any",
                    min,
                    max,
                    value: value === undefined || value === null ? "" : String(value),
                });
            }
            inputs[name] = input;
            errors[name] = h("div", {class: "tsq-field-error", role: "alert"});
            input.dataset.kind = kind;
            return h("label", {class: "tsq-field tsq-field-" + name}, h("span", {text: label}), input, errors[name]);
        };
        // when and how often: a start time (this browser's clock) and a repetition
        const timing = (name, label, input) => {
            inputs[name] = input;
            errors[name] = h("div", {class: "tsq-field-error", role: "alert"});
            input.dataset.kind = name;
            return h("label", {class: "tsq-field tsq-field-" + name}, h("span", {text: label}), input, errors[name]);
        };
        const repeat = task.repeat && !task.repeat.stopped ? task.repeat : null;
        const timingFields = [
            timing("not_before", "Start at", h("input", {class: "tsq-input", type: "datetime-local", value: localInput(task.not_before)})),
            timing("repeat", "Repeat (rounds, 0: until stopped)", h("input", {
                class: "tsq-input", type: "number", step: "1", min: 0, max: 10000, placeholder: "once",
                value: repeat ? String(repeat.times) : "",
            })),
            timing("keep_seeds", "Keep the seeds in every round", h("input", {type: "checkbox", checked: !!(repeat && repeat.keep_seeds)})),
        ];
        const general = h("div", {class: "tsq-field-error tsq-form-error", role: "alert"});
        const form = h(
            "form",
            {
                class: "tsq-edit",
                noValidate: true, // our own checks, shown inline beside each field
                onsubmit: (event) => {
                    event.preventDefault();
                    saveEdit(task);
                },
            },
            field(["name", "Name", "text"]),
            EDIT_FIELDS.filter((spec) => spec[5] !== "if-present" || p[spec[0]] !== undefined).map(field),
            timingFields,
            general,
            h(
                "div",
                {class: "tsq-actions"},
                h("button", {type: "submit", class: "tsq-btn tsq-primary tsq-save", text: "Save"}),
                button("Cancel", closeEdit),
            ),
        );
        inputs.name.type = "text";
        inputs.name.maxLength = 200;
        state.editing = {id: task.id, form, inputs, errors, general, task};
        render();
        inputs.prompt.focus();
    }

    function closeEdit() {
        state.editing = null;
        render();
    }

    function validate(editing) {
        const params = {};
        let ok = true;
        let name = null;
        let checkpoint;
        const timing = {};
        for (const [field, input] of Object.entries(editing.inputs)) {
            editing.errors[field].textContent = "";
            input.removeAttribute("aria-invalid");
            const kind = input.dataset.kind;
            const raw = input.value;
            const spec = EDIT_FIELDS.find((f) => f[0] === field);
            const fail = (message) => {
                ok = false;
                editing.errors[field].textContent = message;
                input.setAttribute("aria-invalid", "true");
            };
            if (field === "not_before") {
                const at = raw ? new Date(raw).getTime() : null;
                if (raw && !isFinite(at)) fail("Give a date and time.");
                else timing.not_before = at === null ? null : at / 1000;
            } else if (field === "repeat") {
                const times = raw.trim() === "" ? null : Number(raw);
                if (times !== null && (!Number.isInteger(times) || times < 0 || times > 10000)) fail("0 to 10000 rounds, or empty for once.");
                else timing.times = times;
            } else if (field === "keep_seeds") {
                timing.keep_seeds = input.checked;
            } else if (field === "name") {
                if (raw.length > 200) fail("At most 200 characters.");
                name = raw;
            } else if (field === "checkpoint") {
                checkpoint = raw.trim() || null;
            } else if (kind === "int" || kind === "float") {
                if (raw.trim() === "") {
                    fail("Give a number.");
                    continue;
                }
                const number = Number(raw);
                if (!isFinite(number) || (kind === "int" && !Number.isInteger(number))) {
                    fail(kind === "int" ? "Give a whole number." : "Give a number.");
                } else if (number < spec[3] || number > spec[4]) {
                    fail("Between " + spec[3] + " and " + spec[4] + ".");
                } else {
                    params[field] = number;
                }
            } else if (field === "sampler_name") {
                if (raw.trim()) params[field] = raw.trim();
                else fail("Choose a sampler.");
            } else {
                params[field] = raw;
            }
        }
        return ok ? {name, checkpoint, params, timing} : null;
    }

    async function saveEdit(task) {
        const editing = state.editing;
        if (!editing) return;
        editing.general.textContent = "";
        const values = validate(editing);
        if (!values) return;
        const p = task.params || {};
        const changed = {};
        for (const [key, value] of Object.entries(values.params)) if (p[key] !== value) changed[key] = value;
        const body = {params: changed};
        if (values.name !== task.name) body.name = values.name;
        if ((values.checkpoint || null) !== (task.checkpoint || null)) body.checkpoint = values.checkpoint;
        const t = values.timing;
        if (localInput(task.not_before) !== editing.inputs.not_before.value) body.not_before = t.not_before;
        const was = task.repeat && !task.repeat.stopped ? task.repeat : null;
        if ((was ? was.times : null) !== t.times || (was && t.times !== null && was.keep_seeds !== t.keep_seeds)) {
            body.repeat = t.times === null ? null : {times: t.times, keep_seeds: t.keep_seeds};
        }
        try {
            await api("/tasks/" + task.id, {method: "PATCH", body});
            state.editing = null;
            await refresh();
        } catch (err) {
            if (err instanceof ApiError && Array.isArray(err.detail)) {
                for (const item of err.detail) {
                    const field = fieldOf(item);
                    const target = editing.errors[field];
                    if (target) {
                        target.textContent = item.msg;
                        editing.inputs[field].setAttribute("aria-invalid", "true");
                    } else {
                        editing.general.textContent = (field ? field + ": " : "") + item.msg;
                    }
                }
            } else {
                editing.general.textContent = err.message;
            }
        }
    }

    return {open: openEdit, close: closeEdit};
}

export {mountEdit};
