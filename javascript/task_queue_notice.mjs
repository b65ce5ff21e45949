// Task Scheduler: the Task Queue tab's notice line: a missing login (with Retry) or the last
// error (with Dismiss). Hidden while there is neither.

import {append, button, clear, h} from "./task_queue_dom.mjs";

/** state: the tab's (needAuth, error); retry() reloads the tab. Returns {el, render}. */
function mountNotice({state, retry}) {
    const el = h("div", {class: "tsq-notice", role: "alert", hidden: true});

    function render() {
        clear(el);
        if (state.needAuth) {
            append(el, [
                "The queue's API needs a login: sign in to the WebUI (--gradio-auth) or give the --api-auth user. ",
                button("Retry", () => retry()),
            ]);
        } else if (state.error) {
            append(el, [state.error, " ", button("Dismiss", () => ((state.error = ""), render()))]);
        }
        el.hidden = !state.needAuth && !state.error;
    }

    return {el, render};
}

export {mountNotice};
