// Task Scheduler: the Queue button's page side (capture is server-side, task_scheduler/webui/capture.py).
//
// * prepare(tab, args, n): runs before the Queue click is sent; puts this click's options (menu
//   choice) into the id_task slot, sets img2img's mode like the WebUI's submit_img2img, and drops
//   anything beyond the click's n inputs. It never starts a progress bar or a generation.
// * show(text): runs when the click's answer arrives (a hidden HTML block the page watches); shows "Queued 'name' — 3rd in line" (or the error) as a toast.
// * A menu on the button (right-click, or its caret): at the top, N times with new random seeds,
//   to start at a time of day ("Queue to start at…": the task waits until then),
//   with all checkpoints, with the checkpoints of one folder, "Queue as sweep…" (the axis form
//   of task_queue_jobs.mjs; this tab's values are the sweep's base, captured by the same click),
//   and "Save as…" (the same capture, kept as a named saved task instead of queued).
// * A keyboard shortcut (Settings → Task Scheduler, default Ctrl+E) queues the current tab.
(function () {
    "use strict";

    const TABS = ["txt2img", "img2img"];
    const DEFAULT_SHORTCUT = "Ctrl+E";
    const pending = {};
    const clickedAt = {};
    const folders = {};
    const waiting = {};  // tab -> {resolve, reject} of a sweep dialog waiting for its click's answer
    const state = {timings: [], menu: null};

    function root() {
        return typeof gradioApp === "function" ? gradioApp() : document;
    }

    function byId(id) {
        return root().querySelector("#" + id) || document.getElementById(id);
    }

    function queueButton(tab) {
        const el = byId("task_scheduler_" + tab + "_queue");
        if (!el) return null;
        return el.tagName === "BUTTON" ? el : el.querySelector("button") || el;
    }

    function parse(text) {
        try {
            const data = JSON.parse(text);
            return data && typeof data === "object" ? data : null;
        } catch (e) {
            return null;
        }
    }

    // -- the click -----------------------------------------------------------------------------

    function prepare(tab, args, n) {
        const res = Array.from(args).slice(0, n);
        if (n > 0) res[0] = JSON.stringify(pending[tab] || {});
        delete pending[tab];
        if (n > 1 && tab === "img2img" && typeof get_tab_index === "function" && byId("mode_img2img")) {
            res[1] = get_tab_index("mode_img2img");
        }
        clickedAt[tab] = performance.now();
        return res;
    }

    function show(text) {
        const result = parse(text);
        if (!result) return;
        if (Array.isArray(result.folders) && result.tab) folders[result.tab] = result.folders;
        if (!result.message) return;
        const waiter = waiting[result.tab];
        if (waiter) {
            delete waiting[result.tab];
            if (result.ok === false) waiter.reject(new Error(result.message));
            else waiter.resolve(result);
        }
        const started = clickedAt[result.tab];
        if (started !== undefined) {
            state.timings.push(performance.now() - started);
            delete clickedAt[result.tab];
        }
        toast(result.message, result.ok !== false, result.warnings);
        window.dispatchEvent(new CustomEvent("task-scheduler:queued", {detail: result}));
    }

    function queue(tab, options) {
        const button = queueButton(tab);
        if (!button) return false;
        pending[tab] = options || {};
        button.click();
        return true;
    }

    // -- toast ---------------------------------------------------------------------------------

    // warnings: what the check found in a task it queued (an unknown LoRA, ...): listed under the
    // message, and the toast stays until clicked or 15 s
    function toast(message, ok, warnings) {
        let box = document.getElementById("task-scheduler-toasts");
        if (!box) {
            box = document.createElement("div");
            box.id = "task-scheduler-toasts";
            box.setAttribute("role", "status");
            box.setAttribute("aria-live", "polite");
            document.body.appendChild(box);
        }
        const item = document.createElement("div");
        const warned = ok && Array.isArray(warnings) && warnings.length > 0;
        item.className = "task-scheduler-toast" + (ok ? "" : " task-scheduler-toast-error")
            + (warned ? " task-scheduler-toast-warning" : "");
        item.textContent = message;  // a prompt is text, never markup
        if (warned) {
            const list = document.createElement("ul");
            list.className = "task-scheduler-toast-warnings";
            for (const text of warnings) {
                const line = document.createElement("li");
                line.textContent = "⚠ " + text;
                list.appendChild(line);
            }
            item.appendChild(list);
        }
        item.title = ok && !warned ? "" : "Click to dismiss";
        const remove = () => item.remove();
        item.addEventListener("click", remove);
        box.appendChild(item);
        setTimeout(remove, ok && !warned ? 3500 : warned ? 15000 : 12000);
    }

    // -- menu ----------------------------------------------------------------------------------

    /** Milliseconds since the epoch of the next "HH:MM" on this clock (today, else tomorrow); null if unreadable. */
    function nextTime(text) {
        const match = /^(\d{1,2}):(\d{2})$/.exec(text || "");
        if (!match) return null;
        const at = new Date();
        at.setHours(parseInt(match[1], 10), parseInt(match[2], 10), 0, 0);
        if (at.getTime() <= Date.now()) at.setDate(at.getDate() + 1);
        return at.getTime();
    }

    function closeMenu() {
        if (state.menu) {
            state.menu.remove();
            state.menu = null;
        }
    }

    // ready(): false keeps the menu open and does nothing (e.g. a name is still missing)
    function menuItem(menu, label, action, className, ready) {
        const item = document.createElement("button");
        item.type = "button";
        item.className = "task-scheduler-menu-item" + (className ? " " + className : "");
        item.textContent = label;
        item.addEventListener("click", (e) => {
            e.preventDefault();
            if (ready && !ready()) return;
            closeMenu();
            action();
        });
        menu.appendChild(item);
        return item;
    }

    function repeatCount() {
        const stored = parseInt(localStorage.getItem("task_scheduler_repeat") || "4", 10);
        return Number.isFinite(stored) && stored > 0 ? stored : 4;
    }

    function openMenu(tab, x, y) {
        closeMenu();
        const menu = document.createElement("div");
        menu.className = "task-scheduler-menu";
        menu.id = "task_scheduler_" + tab + "_menu";
        menu.setAttribute("role", "menu");

        menuItem(menu, "Queue at the top", () => queue(tab, {at: "top"}));

        const repeatRow = document.createElement("div");
        repeatRow.className = "task-scheduler-menu-row";
        const repeatInput = document.createElement("input");
        repeatInput.type = "number";
        repeatInput.min = "1";
        repeatInput.max = "100";
        repeatInput.value = String(repeatCount());
        repeatInput.className = "task-scheduler-repeat";
        repeatInput.title = "How many tasks";
        const repeatAction = () => {
            const n = Math.max(1, Math.min(100, parseInt(repeatInput.value, 10) || 1));
            localStorage.setItem("task_scheduler_repeat", String(n));
            queue(tab, {repeat: n, new_seeds: true});
        };
        const repeatButton = menuItem(repeatRow, "Queue", repeatAction, "task-scheduler-repeat-go");
        repeatRow.appendChild(repeatInput);
        const tail = document.createElement("span");
        tail.textContent = "times with new random seeds";
        tail.addEventListener("click", () => repeatButton.click());
        repeatRow.appendChild(tail);
        repeatInput.addEventListener("keydown", (e) => {
            if (e.key === "Enter") {
                e.preventDefault();
                repeatButton.click();
            }
        });
        menu.appendChild(repeatRow);

        // "Queue to start at…": the next time the clock shows that time (today, else tomorrow)
        const startRow = document.createElement("div");
        startRow.className = "task-scheduler-menu-row";
        const startInput = document.createElement("input");
        startInput.type = "time";
        startInput.className = "task-scheduler-start-at";
        startInput.title = "The task waits in the queue until this time";
        startInput.value = localStorage.getItem("task_scheduler_start_at") || "01:00";
        const startAction = () => {
            const at = nextTime(startInput.value);
            if (at === null) return;
            localStorage.setItem("task_scheduler_start_at", startInput.value);
            queue(tab, {not_before: at / 1000});
        };
        const timed = () => {
            if (nextTime(startInput.value) !== null) return true;
            startInput.focus();
            return false;
        };
        const startButton = menuItem(startRow, "Queue to start at…", startAction, "task-scheduler-start-go", timed);
        startRow.appendChild(startInput);
        startInput.addEventListener("keydown", (e) => {
            if (e.key === "Enter") {
                e.preventDefault();
                startButton.click();
            }
        });
        menu.appendChild(startRow);

        menuItem(menu, "Queue with all checkpoints", () => queue(tab, {checkpoints: "all"}));
        if (window.taskSchedulerJobs) menuItem(menu, "Queue as sweep…", () => openSweep(tab), "task-scheduler-sweep");

        const saveRow = document.createElement("div");
        saveRow.className = "task-scheduler-menu-row";
        const saveInput = document.createElement("input");
        saveInput.type = "text";
        saveInput.maxLength = 200;
        saveInput.placeholder = "name";
        saveInput.className = "task-scheduler-save-name";
        saveInput.title = "Save these values as a saved task (Task Queue tab, Saved) instead of queueing them";
        const named = () => {
            if (saveInput.value.trim()) return true;
            saveInput.focus();
            return false;
        };
        const saveAction = () => queue(tab, {save_as: saveInput.value.trim()});
        const saveButton = menuItem(saveRow, "Save as…", saveAction, "task-scheduler-save-go", named);
        saveRow.appendChild(saveInput);
        saveInput.addEventListener("keydown", (e) => {
            if (e.key === "Enter") {
                e.preventDefault();
                saveButton.click();
            }
        });
        menu.appendChild(saveRow);

        const list = (folders[tab] || initialFolders(tab)).filter((f) => f !== "");
        if (list.length) {
            const heading = document.createElement("div");
            heading.className = "task-scheduler-menu-heading";
            heading.textContent = "Queue with the checkpoints of folder";
            menu.appendChild(heading);
            for (const folder of list) {
                menuItem(menu, folder, () => queue(tab, {checkpoints: "folder:" + folder}), "task-scheduler-folder");
            }
        }

        document.body.appendChild(menu);
        const rect = menu.getBoundingClientRect();
        menu.style.left = Math.max(4, Math.min(x, window.innerWidth - rect.width - 4)) + "px";
        menu.style.top = Math.max(4, Math.min(y, window.innerHeight - rect.height - 4)) + "px";
        state.menu = menu;
        const first = menu.querySelector("button");
        if (first) first.focus();
    }

    // The dialog counts with the API (this tab's prompt as the base) and queues through the
    // Queue button, so the job's base is everything Generate would send, images included.
    function openSweep(tab) {
        const text = (id) => {
            const box = byId(id);
            const field = box && box.querySelector("textarea");
            return field ? field.value : "";
        };
        window.taskSchedulerJobs.openSweepDialog({
            getBase: () => ({base: {prompt: text(tab + "_prompt"), negative_prompt: text(tab + "_neg_prompt")}}),
            submit: (spec) => new Promise((resolve, reject) => {
                if (waiting[tab]) waiting[tab].reject(new Error("replaced by a newer click"));
                waiting[tab] = {resolve, reject};
                if (!queue(tab, {sweep: spec})) {
                    delete waiting[tab];
                    reject(new Error("the Queue button is not on this page"));
                }
            }),
        });
    }

    function answerText(tab) {
        const box = byId("task_scheduler_" + tab + "_queue_result");
        const answer = box && box.querySelector(".task-scheduler-answer");
        return answer ? answer.textContent : null;
    }

    function initialFolders(tab) {
        const data = parse(answerText(tab) || "");
        return data && Array.isArray(data.folders) ? data.folders : [];
    }

    // The server answers into a hidden HTML block; watch it instead of chaining another event.
    const seen = {};

    function watchAnswers(tab) {
        const box = byId("task_scheduler_" + tab + "_queue_result");
        if (!box || box.dataset.taskSchedulerWatched) return;
        box.dataset.taskSchedulerWatched = "1";
        const check = () => {
            const text = answerText(tab);
            const data = text && parse(text);
            if (!data || data.nonce === seen[tab]) return;
            seen[tab] = data.nonce;
            show(text);
        };
        seen[tab] = (parse(answerText(tab) || "") || {}).nonce;
        new MutationObserver(check).observe(box, {childList: true, subtree: true, characterData: true});
    }

    document.addEventListener("mousedown", (e) => {
        if (state.menu && !state.menu.contains(e.target)) closeMenu();
    }, true);
    document.addEventListener("keydown", (e) => {
        if (state.menu && e.key === "Escape") {
            closeMenu();
            e.preventDefault();
        }
    });
    window.addEventListener("resize", closeMenu);

    function attach(tab) {
        watchAnswers(tab);
        const button = queueButton(tab);
        if (!button || button.dataset.taskSchedulerReady) return Boolean(button);
        button.dataset.taskSchedulerReady = "1";
        button.title = "Queue these settings to run later (right-click for more)";
        const caret = document.createElement("span");
        caret.className = "task-scheduler-caret";
        caret.textContent = "▾";
        caret.title = "More ways to queue";
        caret.setAttribute("role", "button");
        caret.setAttribute("aria-haspopup", "menu");
        caret.addEventListener("click", (e) => {
            e.preventDefault();
            e.stopPropagation();
            const rect = button.getBoundingClientRect();
            openMenu(tab, rect.right - 260, rect.bottom + 2);
        });
        button.appendChild(caret);
        button.addEventListener("contextmenu", (e) => {
            e.preventDefault();
            e.stopPropagation();
            openMenu(tab, e.clientX, e.clientY);
        });
        return true;
    }

    // -- shortcut ------------------------------------------------------------------------------

    function shortcutSetting() {
        const value = window.opts && typeof window.opts.task_scheduler_queue_shortcut === "string"
            ? window.opts.task_scheduler_queue_shortcut : DEFAULT_SHORTCUT;
        return parseShortcut(value);
    }

    function parseShortcut(text) {
        const parts = String(text || "").split("+").map((p) => p.trim().toLowerCase()).filter(Boolean);
        if (!parts.length) return null;
        const spec = {ctrl: false, shift: false, alt: false, key: parts[parts.length - 1]};
        for (const part of parts.slice(0, -1)) {
            if (part === "ctrl" || part === "control" || part === "cmd" || part === "meta") spec.ctrl = true;
            else if (part === "shift") spec.shift = true;
            else if (part === "alt" || part === "option") spec.alt = true;
            else return null;
        }
        return spec;
    }

    function matches(spec, e) {
        if (!spec) return false;
        if (spec.ctrl !== (e.ctrlKey || e.metaKey) || spec.shift !== e.shiftKey || spec.alt !== e.altKey) {
            return false;
        }
        const key = (e.key || "").toLowerCase();
        return key === spec.key || (spec.key.length === 1 && e.code === "Key" + spec.key.toUpperCase());
    }

    function currentTab() {
        const content = typeof get_uiCurrentTabContent === "function" ? get_uiCurrentTabContent() : null;
        const id = content && content.id ? content.id.replace(/^tab_/, "") : null;
        if (TABS.includes(id)) return id;
        if (!content) {  // no WebUI tab structure (e.g. a test page): the only visible Queue button
            const visible = TABS.filter((t) => {
                const b = queueButton(t);
                return b && b.offsetParent !== null;
            });
            return visible.length === 1 ? visible[0] : null;
        }
        return null;
    }

    document.addEventListener("keydown", (e) => {
        if (e.repeat || !matches(shortcutSetting(), e)) return;
        const tab = currentTab();
        if (!tab || !queueButton(tab)) return;
        e.preventDefault();
        e.stopPropagation();
        queue(tab, {});
    }, true);

    // -- start ---------------------------------------------------------------------------------

    function attachAll() {
        return TABS.map(attach).some(Boolean);
    }

    if (typeof onUiLoaded === "function") onUiLoaded(attachAll);
    if (typeof onAfterUiUpdate === "function") onAfterUiUpdate(attachAll);
    let tries = 0;
    const timer = setInterval(() => {
        tries += 1;
        if ((attachAll() && tries > 5) || tries > 300) clearInterval(timer);
    }, 200);

    window.taskSchedulerQueue = {prepare, show, queue, openMenu, openSweep, parseShortcut, timings: state.timings};
})();
