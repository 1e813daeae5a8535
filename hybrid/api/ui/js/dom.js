// Small DOM helpers shared by the pages.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

let fieldIds = 0;
// A labelled form field: the input gets an id the label points to.
export function field(label, input, hint) {
  if (!input.id) input.id = `f${++fieldIds}`;
  return h("div", { class: "field" }, h("label", { for: input.id }, label), input, hint ? h("small", {}, hint) : null,
    h("small", { class: "error", "data-error-for": input.id, role: "alert" }));
}

export function select(options, value, attrs = {}) {
  const el = h("select", attrs);
  for (const option of options) {
    const [v, text] = Array.isArray(option) ? option : [option, option];
    el.append(h("option", { value: v, selected: String(v) === String(value) }, text));
  }
  return el;
}

export const money = (x) => (x === null || x === undefined ? "—" : `${x < 0 ? "-" : ""}$${Math.abs(x).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`);
export const num = (x, digits = 2) => (x === null || x === undefined ? "—" : Number(x).toFixed(digits));
export const pct = (x) => (x === null || x === undefined ? "—" : `${(100 * x).toFixed(1)}%`);
export const signClass = (x) => (x > 0 ? "pos" : x < 0 ? "neg" : "");

export function table(columns, rows, attrs = {}) {
  return h("table", attrs,
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((c) => (c instanceof Node && c.tagName === "TD" ? c : h("td", {}, c)))))));
}

// A modal confirmation; resolves true when confirmed.
export function confirmDialog(title, ...body) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-body").replaceChildren(...body.map((b) => (b instanceof Node ? b : h("p", {}, b))));
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true }));
}

// Put each field error next to the input whose data-loc is the longest prefix of its loc.
export function showFieldErrors(form, errors) {
  for (const slot of form.querySelectorAll("[data-error-for]")) slot.textContent = "";
  const inputs = [...form.querySelectorAll("[data-loc]")];
  const unplaced = [];
  for (const error of errors) {
    // a field's data-loc matches when its parts appear in the error's loc in order: a union's tag
    // (["schedule", "weekly", "at"]) and list indices may sit between them
    const loc = (error.loc || []).filter((p) => p !== "body").map(String);
    let best = null;
    for (const input of inputs) {
      const parts = input.dataset.loc.split(".");
      let k = 0;
      for (const p of loc) if (p === parts[k]) k++;
      if (k === parts.length && loc[0] === parts[0] && (!best || parts.length > best.dataset.loc.split(".").length)) best = input;
    }
    const slot = best && form.querySelector(`[data-error-for="${best.id}"]`);
    if (slot) slot.textContent = error.msg;
    else unplaced.push(`${loc.join(".")}: ${error.msg}`);
  }
  return unplaced;
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

export function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
