// Task Scheduler: the Task Queue page's one client of the queue's HTTP API (/task-scheduler/v1).
//
// The tab creates it once (`createApi(base, {onAuth})`) and hands the same client to every
// section, so a page has one fetch wrapper, one place that notices a missing login, and one error
// type: `api(path, {method, body, signal})` answers the JSON body or throws an ApiError whose
// message a person can read. `api.base` is the API's URL prefix, for links (zips, images).
// No side effects on import: the WebUI loads every javascript/*.mjs as a module of its own.

const DEFAULT_API = "/task-scheduler/v1";

class ApiError extends Error {
    constructor(status, detail) {
        super(ApiError.text(detail) || "HTTP " + status);
        this.status = status;
        this.detail = detail;
    }

    static text(detail) {
        if (Array.isArray(detail)) {
            return detail.map((d) => (d && d.msg ? fieldOf(d) + ": " + d.msg : String(d))).join("; ");
        }
        return detail ? String(detail) : "";
    }
}

/** The field a validation error names: the last part of its location, without body/query/params. */
function fieldOf(item) {
    const loc = (item && item.loc) || [];
    const parts = loc.filter((p) => !["body", "query", "path", "params"].includes(p));
    return parts.length ? String(parts[parts.length - 1]) : "";
}

/**
 * A client of the API at `base`. `hooks.onAuth(needed)` is told when a request is refused for
 * want of a login (true) and when one succeeds again after that (false).
 */
function createApi(base, hooks) {
    base = (base || DEFAULT_API).replace(/\/$/, "");
    const onAuth = (hooks && hooks.onAuth) || (() => {});
    let needAuth = false;

    async function api(path, init) {
        init = init || {};
        const headers = {Accept: "application/json"};
        if (init.body !== undefined) headers["Content-Type"] = "application/json";
        const response = await fetch(base + path, {
            method: init.method || "GET",
            headers,
            body: init.body === undefined ? undefined : JSON.stringify(init.body),
            credentials: "same-origin",
            cache: "no-store",
            signal: init.signal,
        });
        const type = response.headers.get("content-type") || "";
        const data = type.includes("json") ? await response.json().catch(() => null) : null;
        if (response.status === 401) {
            needAuth = true;
            onAuth(true);
        }
        if (!response.ok) throw new ApiError(response.status, data && data.detail);
        if (needAuth) {
            needAuth = false;
            onAuth(false);
        }
        return data;
    }

    api.base = base;
    return api;
}

export {ApiError, DEFAULT_API, createApi, fieldOf};
