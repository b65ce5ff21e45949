// Task Scheduler: the DOM helpers every Task Queue module shares. Properties and text only:
// nothing given to them is ever parsed as markup. No side effects on import (the WebUI loads every
// javascript/*.mjs as a module of its own, besides the imports).

function h(tag, props, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
        if (value === undefined || value === null || value === false) continue;
        if (key === "class") el.className = value;
        else if (key === "text") el.textContent = value;
        else if (key === "dataset") Object.assign(el.dataset, value);
        else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
        else if (key.startsWith("aria-") || key === "role" || key === "for") el.setAttribute(key, value);
        else el[key] = value;
    }
    append(el, children);
    return el;
}

function append(el, children) {
    for (const child of children.flat(Infinity)) {
        if (child === null || child === undefined || child === false) continue;
        el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
}

function clear(el) {
    while (el.firstChild) el.removeChild(el.firstChild);
    return el;
}

/** A `tsq-btn` button (the tab's WebUI-themed look); `extra` may replace its class. */
function button(label, onclick, extra) {
    return h("button", {type: "button", class: "tsq-btn", text: label, onclick, ...(extra || {})});
}

function preview(text, length) {
    text = String(text || "").replace(/\s+/g, " ").trim();
    return text.length > length ? text.slice(0, length - 1) + "…" : text;
}

export {append, button, clear, h, preview};
