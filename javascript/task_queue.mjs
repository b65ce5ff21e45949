// Task Scheduler: the "Task Queue" tab. Vanilla ES modules, no build step.
//
// This module is the tab's shell: it keeps one `state` object, one API client
// (task_queue_api.mjs) and one long-poll on the queue's revision (/wait), and mounts one module
// per section of the tab, top to bottom:
//
//   task_queue_notice.mjs    a missing login, the last error
//   task_queue_toolbar.mjs   where the queue stands; Pause / Pause now / Clear queue
//   task_queue_workers.mjs   the Workers strip: each process that runs tasks (hidden with one)
//   task_queue_running.mjs   the running tasks, their progress and where each runs
//   task_queue_pending.mjs   "Waiting": reorder, edit (task_queue_edit.mjs), bulk actions
//   task_queue_jobs.mjs      "Jobs" (collapsed until opened)
//   task_queue_saved.mjs     "Saved" (collapsed until opened)
//   task_queue_history.mjs   "History": filters, search, pages, bulk actions
//   task_queue_details.mjs   one task's details panel and the full-size viewer
//
// Each `mountX({...})` takes what it needs (state, api, act, refresh, callbacks) and returns
// {el, load?, render?}: with every change of the queue the shell calls every section's load()
// (its own requests) at once, then every render(). Rows are keyed by task id and rebuilt only when
// their own data changed (task_queue_rows.mjs), so scroll position, focus and selection survive
// every update. Updates come from the one long-poll, never from a timer hammering the server;
// only the running task's progress is polled, once a second, while one runs (inside the WebUI
// its own progress bar and live preview do that instead).
//
// Every piece of user text (prompt, name, error, infotext) goes into the page with textContent:
// nothing from a task is ever parsed as HTML.
//
// Mounted into #task-scheduler-tab (the WebUI tab, task_scheduler/webui/tab.py) or
// #task-scheduler-standalone (the standalone server's page); `window.taskQueue.mount(el)` too.

import {ApiError, createApi} from "./task_queue_api.mjs";
import {append, clear, h} from "./task_queue_dom.mjs";
import {mountDetails} from "./task_queue_details.mjs";
import {mountHistory} from "./task_queue_history.mjs";
import {mountJobs, openSweepDialog} from "./task_queue_jobs.mjs";
import {mountNotice} from "./task_queue_notice.mjs";
import {PENDING_PAGE, mountPending} from "./task_queue_pending.mjs";
import {mountRunning} from "./task_queue_running.mjs";
import {mountSaved} from "./task_queue_saved.mjs";
import {mountToolbar} from "./task_queue_toolbar.mjs";
import {mountWorkers} from "./task_queue_workers.mjs";

const CONTAINER_IDS = ["task-scheduler-tab", "task-scheduler-standalone"];
const WAIT_TIMEOUT_S = 25;

// -- the app --------------------------------------------------------------------------------

function createApp(root, options) {
    // The tab's one state object: the queue as /queue answers it, which every section reads, and
    // what each section keeps across redraws, named beside it.
    const state = {
        revision: null,
        paused: false,
        running: [],
        pending: [],
        totalPending: 0,
        stats: null,
        schedule: null,
        workers: [], // every worker of the queue, as /workers answers (the Workers strip loads it)
        localWorker: null, // the one whose tasks run in this WebUI (they get its live preview)
        progress: {}, // running task id -> its latest progress (the running section writes it)
        pendingLimit: PENDING_PAGE, // Waiting: how many rows to ask for
        focusHandle: null, // Waiting: the row whose handle gets the focus after a move
        editing: null, // Waiting's edit form: {id, form, inputs, errors, general, task}
        samplers: null, // the edit form's choices, fetched once
        checkpoints: null,
        history: {tasks: [], total: 0, offset: 0, status: "", search: "", bookmarked: false}, // History
        selected: {pending: new Set(), history: new Set()}, // the rows ticked in Waiting / History
        details: null, // the details panel: {id, task, index, infotext}
        error: "", // the notice
        unreachable: false, // the store was out of reach at the last look (the notice says so)
        needAuth: false,
        stopped: false,
        timings: {firstPaint: null, pageSwitch: []},
    };
    const inWebUI = () => typeof window.requestProgress === "function" && !!findWebUIBridge();
    const api = createApi(options.apiBase, {
        onAuth: (needed) => {
            state.needAuth = needed;
            renderNotice();
        },
    });
    let parts = null; // the mounted sections, by name (start() mounts them)
    let sections = []; // the same, top to bottom
    let running = null; // the running tasks' section (its progress polling stops with the app)
    let workers = null; // the Workers strip (its slow timer stops with the app)

    function renderNotice() {
        if (parts) parts.notice.render();
    }

    function openDetails(taskId) {
        return parts.details.open(taskId);
    }

    async function act(promise, after) {
        try {
            const result = await promise;
            state.error = "";
            if (after) after(result);
            return result;
        } catch (err) {
            state.error = err.message || String(err);
            return undefined;
        } finally {
            renderNotice();
            await refresh();
        }
    }

    // -- loading ------------------------------------------------------------------------------

    // Refreshes overlap (an action's and the long-poll's); on a loaded machine the older answer
    // can arrive last. It is dropped: drawn, it put the old order back for a moment and took
    // the focus from a row just moved with the keyboard.
    let queueAsked = 0;
    let queueShown = 0;

    async function loadQueue() {
        const asked = ++queueAsked;
        const data = await api("/queue?limit=" + state.pendingLimit);
        if (asked < queueShown) return;
        queueShown = asked;
        state.revision = data.revision;
        state.paused = data.paused;
        state.running = data.running;
        state.pending = data.pending;
        state.totalPending = data.total_pending;
        state.stats = data.stats || null;
        state.schedule = data.schedule || null;
    }

    async function refresh() {
        const wasBusy = state.running.length > 0 || state.totalPending > 0;
        try {
            await Promise.all([loadQueue(), ...sections.map((section) => (section.load ? section.load() : null))]);
            if (state.details) await parts.details.reload();
            if (state.unreachable) {
                state.unreachable = false; // the store is back: its notice goes
                state.error = "";
            }
        } catch (err) {
            if (!(err instanceof ApiError && err.status === 401)) state.error = err.message || String(err);
            if (unreachable(err)) state.unreachable = true;
        }
        render();
        if (wasBusy && !state.running.length && !state.totalPending) setTimeout(checkNotice, 500);
    }

    // "When the queue runs empty: browser notification" (a WebUI setting): the extension keeps a
    // notice whose seq grows; notify once per new seq. Outside the WebUI the route is absent.
    async function checkNotice() {
        if (state.noticeSeq === false) return;
        try {
            const notice = await api("/webui/notice");
            const seq = notice ? notice.seq : 0;
            if (state.noticeSeq !== undefined && seq > state.noticeSeq) notifyDry(notice);
            state.noticeSeq = seq;
        } catch (err) {
            if (err instanceof ApiError && err.status === 404) state.noticeSeq = false;
        }
    }

    function notifyDry(notice) {
        const text = "The queue is empty: " + notice.done + " done, " + notice.failed + " failed, " + notice.interrupted + " interrupted.";
        if (window.Notification && Notification.permission === "granted") {
            new Notification("Task Queue", {body: text});
        } else {
            state.error = text;
            renderNotice();
            if (window.Notification && Notification.permission === "default") Notification.requestPermission();
        }
    }

    // The page's one long-poll. It waits from the revision a /wait answered with, which was read
    // before the refresh it starts: the queue's revision that refresh reads comes back beside the
    // sections' own answers and may already count a change one of them missed, and waiting from
    // it would leave that section stale until the next change.
    async function watch() {
        let shown = state.revision;
        while (!state.stopped) {
            if (shown === null || state.needAuth) {
                await new Promise((resolve) => setTimeout(resolve, 2000));
                if (state.revision === null || state.needAuth) await refresh();
                shown = state.revision;
                continue;
            }
            try {
                const answer = await api("/wait?revision=" + shown + "&timeout=" + WAIT_TIMEOUT_S);
                if (answer.changed || state.unreachable) {
                    shown = answer.revision;
                    await refresh();
                }
            } catch (err) {
                if (unreachable(err)) {
                    // the queue's store is out of reach (a database server restarting): say so,
                    // and keep showing the queue as it was last seen rather than an empty one
                    state.unreachable = true;
                    state.error = err.message;
                    renderNotice();
                }
                await new Promise((resolve) => setTimeout(resolve, 3000));
            }
        }
    }

    // -- shell ---------------------------------------------------------------------------------

    function buildShell() {
        root.classList.add("tsq");
        clear(root);
        const deps = {state, api, act, refresh, renderNotice, openDetails};
        workers = mountWorkers(deps);
        running = mountRunning({...deps, inWebUI, onProgress: () => workers.render()});
        // The sections, top to bottom: each {el, load?, render?}. A new section is a module with a mount function and one line in this list; the
        // long-poll's refresh reaches it through its load() and render(). collapsible() makes one
        // that is drawn on first opening, like Jobs and Saved.
        parts = {
            notice: mountNotice({state, retry: refresh}),
            header: group("section", "tsq-header", [mountToolbar(deps), workers, running]),
            pending: mountPending(deps),
            jobs: collapsible("tsq-jobs", "Jobs", (host) => mountJobs(host, {api})),
            saved: collapsible("tsq-saved", "Saved", (host) => mountSaved(host, {api, load: savedLoader()})),
            history: mountHistory(deps),
            details: mountDetails({...deps, findBridge: findWebUIBridge}),
        };
        sections = Object.values(parts);
        append(root, [sections.map((section) => section.el), parts.details.lightbox]);
        root.addEventListener("keydown", (event) => {
            if (event.key === "Escape") parts.details.escape();
        });
    }

    // -- render --------------------------------------------------------------------------------

    function render() {
        for (const section of sections) if (section.render) section.render();
        if (state.timings.firstPaint === null && state.revision !== null) {
            state.timings.firstPaint = performance.now() - state.timings.mountedAt;
            root.dataset.ready = "1";
            // the frame after the one that shows it: what a person sees
            requestAnimationFrame(() =>
                requestAnimationFrame(() => (state.timings.firstFrame = performance.now() - state.timings.mountedAt)),
            );
        }
    }

    // -- lifecycle -------------------------------------------------------------------------------

    function start() {
        state.timings.mountedAt = performance.now();
        buildShell();
        refresh().then(() => {
            checkNotice();
            watch();
        });
    }

    function stop() {
        state.stopped = true;
        if (running) running.stop();
        if (workers) workers.stop();
    }

    return {state, start, stop, refresh, openDetails, api, timings: state.timings};
}

/** The API answered that the queue's store cannot be reached (503). */
function unreachable(err) {
    return err instanceof ApiError && err.status === 503;
}

/** Sections shown together in one element (the toolbar and the running task: the header). */
function group(tag, cls, members) {
    return {
        el: h(tag, {class: cls}, members.map((member) => member.el)),
        load: () => Promise.all(members.map((member) => (member.load ? member.load() : null))),
        render: () => members.forEach((member) => member.render && member.render()),
    };
}

/** "Load into txt2img / img2img" of a saved task, inside the WebUI (null outside it). */
function savedLoader() {
    const bridge = findWebUIBridge();
    return bridge ? (id, target) => bridge.send({saved: id, target}) : null;
}

/**
 * A collapsed section whose own module draws it once it is first opened (Jobs, Saved): `mount(host)`
 * returns {refresh}. While open it is refreshed with the queue; reopened, it catches up at once.
 */
function collapsible(cls, label, mount) {
    const host = h("div", {class: cls + "-host"});
    let mounted = null;
    const el = h(
        "details",
        {
            class: "tsq-section " + cls,
            ontoggle: () => {
                if (!el.open) return;
                if (mounted) mounted.refresh();
                else mounted = mount(host);
            },
        },
        h("summary", {class: "tsq-h", role: "heading", "aria-level": "3"}, label),
        host,
    );
    return {el, load: () => (mounted && el.open ? mounted.refresh() : null)};
}

// -- the WebUI's paste mechanism (hidden gradio parts rendered by task_scheduler/webui/tab.py) ------

let bridgeRequest = null;

function findWebUIBridge() {
    const app = typeof window.gradioApp === "function" ? window.gradioApp() : document;
    const prepare = app.querySelector("#task_scheduler_tab_prepare");
    if (!prepare) return null;
    return {
        send(request) {
            bridgeRequest = request;
            (prepare.tagName === "BUTTON" ? prepare : prepare.querySelector("button") || prepare).click();
        },
    };
}

// Called by tab.py's gradio events: the prepare click's inputs, then the paste click.
const webui = {
    request() {
        return [JSON.stringify(bridgeRequest || {})];
    },
    paste() {
        const request = bridgeRequest;
        bridgeRequest = null;
        if (!request) return [];
        const app = typeof window.gradioApp === "function" ? window.gradioApp() : document;
        const target = app.querySelector("#task_scheduler_tab_" + request.target);
        if (target) (target.tagName === "BUTTON" ? target : target.querySelector("button") || target).click();
        return [];
    },
};

// -- mounting ---------------------------------------------------------------------------------

const apps = new Map();

function mount(el, options) {
    if (!el || apps.has(el)) return apps.get(el);
    const config = Object.assign({}, window.TASK_SCHEDULER_STANDALONE || {}, options || {});
    if (el.dataset.apiBase) config.apiBase = el.dataset.apiBase;
    const app = createApp(el, config);
    apps.set(el, app);
    app.start();
    return app;
}

function findContainers() {
    const roots = [document];
    if (typeof window.gradioApp === "function") {
        try {
            roots.unshift(window.gradioApp());
        } catch (err) {
            // not ready yet
        }
    }
    for (const r of roots) {
        for (const id of CONTAINER_IDS) {
            const el = r.querySelector ? r.querySelector("#" + id) : null;
            if (el) return el;
        }
    }
    return null;
}

function autoMount() {
    const el = findContainers();
    if (el) {
        mount(el);
        return true;
    }
    return false;
}

window.taskQueue = {mount, webui, apps};

// The Queue button (a classic script) opens "Queue as sweep…" through this, with the page's one
// API client: the mounted tab's, or, before the tab is mounted, one made for the purpose.
let spareApi = null;
window.taskSchedulerJobs = {
    openSweepDialog(options) {
        const app = apps.values().next().value;
        const api = app ? app.api : spareApi || (spareApi = createApi());
        return openSweepDialog({api, ...options});
    },
};

if (!autoMount()) {
    const observer = new MutationObserver(() => {
        if (autoMount()) observer.disconnect();
    });
    observer.observe(document.documentElement, {childList: true, subtree: true});
    if (typeof window.onUiLoaded === "function") window.onUiLoaded(() => autoMount() && observer.disconnect());
}

export {mount, webui};
