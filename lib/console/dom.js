// Small DOM helpers: elements are built with properties and listeners, never HTML strings
// (the CSP forbids inline handlers and styles, and text from the API must never become markup).

/** Properties that only have a getter: set as attributes (`list` ties an input to its datalist). */
const READ_ONLY = new Set(["list", "form"]);

/** h("button", { type: "button", onclick }, "Save") */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key in el && !key.includes("-") && !READ_ONLY.has(key)) el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

let ids = 0;
/** A fresh id for label/for and aria-describedby pairs. */
export const uid = (prefix = "f") => `${prefix}-${++ids}`;

/** A status line (role=status) that shows an outcome or a problem next to the action it belongs to. */
export function statusLine() {
  const el = h("p", { class: "status", role: "status" });
  el.ok = (text) => {
    el.className = "status ok";
    el.replaceChildren(text);
  };
  el.fail = (content) => {
    el.className = "status error";
    el.replaceChildren(content);
  };
  el.clear = () => {
    el.className = "status";
    el.replaceChildren();
  };
  return el;
}

/** A labelled input: returns { wrap, input, error } with the error slot tied to the control. */
export function field(label, control, hint) {
  const id = control.id || uid();
  control.id = id;
  const error = h("p", { class: "field-error", id: `${id}-error`, role: "alert" });
  const hintEl = hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null;
  control.setAttribute("aria-describedby", [hintEl ? hintEl.id : "", error.id].join(" ").trim());
  const wrap = h("div", { class: "field" }, h("label", { htmlFor: id }, label), control, hintEl, error);
  return { wrap, input: control, error };
}

export const fmtTime = (value) => (value ? new Date(value).toLocaleString() : "—");
