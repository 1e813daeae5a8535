// Page 2: the custom leg builder. Call / put / stock legs from the chain; the payoff at expiry (the server's
// /analysis) and at a chosen date with an IV shift (Black-Scholes in the browser over the server's leg prices
// and IVs); strikes dragged on the chart (shift-drag moves all); a P&L table by price and date; the catalogue
// structure the legs form; saved leg sets (/leg-templates); submit as a limit or through the two-part algorithm.
import { ApiError, api, get, idempotencyKey, post } from "./api.js";
import { figures, legsTable } from "./analysis.js";
import { chartBox, focus, plot } from "./chart.js";
import * as chain from "./chain.js";
import { confirmDialog, field, h, money, select, showFieldErrors } from "./dom.js";
import { executionForm, followOrder } from "./execution.js";
import { pnlAt } from "./options.js";

const gcd = (a, b) => (b ? gcd(b, a % b) : Math.abs(a));

export function builderPage(root, { feed, can }) {
  const state = { legs: [], expiries: [], strikes: new Map(), analysis: null, units: 1, seq: 0, shift: false, stops: [] };
  const underlying = select([], "", { name: "underlying" });
  const legsBody = h("tbody", { "data-testid": "builder-legs" });
  const form = h("form", { class: "card", onsubmit: (e) => e.preventDefault() });
  const recognised = h("p", { class: "recognised", "data-testid": "recognised", "aria-live": "polite" });
  const out = h("div", { class: "preview", "data-testid": "builder-figures", "aria-live": "polite" });
  const chart = chartBox({ "data-testid": "builder-chart" });
  const grid = h("div", { class: "scroll", "data-testid": "pnl-table" });
  const dateSlider = h("input", { type: "range", min: "0", max: "30", value: "0", step: "1", name: "date_days" });
  const dateLabel = h("output", { for: "" });
  const ivSlider = h("input", { type: "range", min: "-20", max: "20", value: "0", step: "1", name: "iv_shift" });
  const ivLabel = h("output", {});
  const templateName = h("input", { type: "text", name: "template_name", maxlength: "64", placeholder: "my condor", "data-loc": "name" });
  const templates = h("ul", { class: "templates", "data-testid": "leg-templates" });
  const status = h("div", { class: "order-status", "data-testid": "builder-status", "aria-live": "polite" });
  const units = h("input", { type: "number", min: "1", value: "1", name: "units", "data-loc": "units" });
  const execution = executionForm(() => {}, { allowMarket: false });

  root.append(h("h1", {}, "Leg builder"),
    h("div", { class: "split" },
      h("div", {}, form, recognised, out),
      h("div", {}, chart,
        h("div", { class: "row" }, field("Date (days from now)", dateSlider), dateLabel, field("IV shift (vol points)", ivSlider), ivLabel),
        h("h2", {}, "P&L by price and date"), grid)));

  window.addEventListener("keydown", onKey);
  window.addEventListener("keyup", onKey);
  function onKey(e) { state.shift = e.shiftKey; }

  async function strikesOf(expiry, kind) {
    const key = `${expiry}:${kind}`;
    if (!state.strikes.has(key)) state.strikes.set(key, await chain.strikes(underlying.value, expiry, kind === "put" ? "put" : "call"));
    return state.strikes.get(key);
  }

  function legRow(leg, index) {
    const kind = select([["call", "call"], ["put", "put"], ["underlying", "stock"]], leg.kind, { "aria-label": `leg ${index + 1} kind`, "data-field": "kind" });
    const side = select([["1", "buy"], ["-1", "sell"]], String(leg.sign), { "aria-label": `leg ${index + 1} side`, "data-field": "side" });
    const qty = h("input", { type: "number", min: "1", value: String(leg.qty), class: "small", "aria-label": `leg ${index + 1} quantity`, "data-field": "qty" });
    const expiry = select(state.expiries.map((e) => [e.expiry, chain.expiryLabel(e)]), leg.expiry, { "aria-label": `leg ${index + 1} expiry`, "data-field": "expiry", disabled: leg.kind === "underlying" });
    const strike = select(state.strikes.get(`${leg.expiry}:${leg.kind === "put" ? "put" : "call"}`) || [leg.strike], leg.strike, { "aria-label": `leg ${index + 1} strike`, "data-field": "strike", disabled: leg.kind === "underlying" });
    const changed = async () => {
      leg.kind = kind.value;
      leg.sign = Number(side.value);
      leg.qty = Math.max(1, Number(qty.value) || 1);
      leg.expiry = expiry.value;
      if (leg.kind !== "underlying") {
        const listed = await strikesOf(leg.expiry, leg.kind);
        leg.strike = nearest(listed, Number(strike.value));
      }
      renderLegs();
      analyse();
    };
    for (const el of [kind, side, qty, expiry, strike]) el.addEventListener("change", changed);
    return h("tr", { "data-leg": String(index) }, h("td", {}, kind), h("td", {}, side), h("td", {}, qty), h("td", {}, expiry), h("td", {}, strike),
      h("td", {}, h("button", { type: "button", "aria-label": `remove leg ${index + 1}`, "data-action": "remove-leg", onclick: () => { state.legs.splice(index, 1); renderLegs(); analyse(); } }, "✕")));
  }

  function renderLegs() {
    legsBody.replaceChildren(...state.legs.map(legRow));
  }

  async function addLeg(kind = "call", sign = 1, offset = 0) {
    const expiry = (state.expiries.find((e) => e.dte >= 20) || state.expiries[state.expiries.length - 1]).expiry;
    const listed = await strikesOf(expiry, kind);
    const spot = state.spot ?? listed[listed.length >> 1];
    // the strike nearest the money that no leg of this kind and expiry uses yet (a contract appears once)
    const used = new Set(state.legs.filter((l) => l.kind === kind && l.expiry === expiry).map((l) => l.strike));
    const atm = chain.atmIndex(listed, spot) + offset;
    const free = listed.map((k, i) => [k, i]).filter(([k]) => !used.has(k)).sort((a, b) => Math.abs(a[1] - atm) - Math.abs(b[1] - atm) || b[1] - a[1]);
    if (kind === "underlying" && state.legs.some((l) => l.kind === "underlying")) return;
    state.legs.push({ kind, sign, qty: 1, expiry, strike: kind === "underlying" ? null : (free[0] || [listed[0]])[0] });
    renderLegs();
    analyse();
  }

  const structure = () => {
    const raw = state.legs.map((l) => l.sign * l.qty);
    const divisor = raw.reduce((a, b) => gcd(a, b), 0) || 1;
    state.units = divisor;
    return {
      type: "legs",
      legs: state.legs.map((l, i) => (l.kind === "underlying"
        ? { kind: "underlying", strike: null, expiry: null, quantity: raw[i] / divisor }
        : { kind: l.kind, strike: l.strike, expiry: l.expiry, quantity: raw[i] / divisor })),
    };
  };

  let inFlight = false;
  let again = false;
  async function analyse() {
    if (!state.legs.length) { out.replaceChildren(h("p", {}, "Add a leg.")); recognised.textContent = ""; return; }
    if (inFlight) { again = true; return; }
    inFlight = true;
    again = false;
    const seq = ++state.seq;
    try {
      const s = structure();
      const [analysis, named] = await Promise.all([post("/analysis", { underlying: underlying.value, structure: s }), post("/strategies/recognise", { legs: s.legs.map((l) => ({ ...l, quantity: l.quantity * state.units })) })]);
      state.analysis = analysis;
      state.spot = analysis.spot;
      recognised.textContent = named.strategy ? `These legs are ${named.units > 1 ? `${named.units} × ` : ""}a ${named.display_name} (${named.strikes.join(" / ")}).` : "Custom structure (no catalogue match).";
      recognised.dataset.strategy = named.strategy || "";
      execution.setMid(analysis.market.mid / analysis.multiplier);
      out.replaceChildren(figures(analysis, state.units), legsTable(analysis));
      draw();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      out.replaceChildren(h("p", { class: "error", role: "alert" }, error.message));
    } finally {
      out.dataset.seq = String(seq);
      inFlight = false;
      if (again) analyse();
    }
  }

  function curveAt(days, ivShift) {
    const a = state.analysis;
    const at = new Date(Date.parse(a.as_of) + days * 86400e3);
    const legs = a.legs.map(({ leg }) => leg);
    const params = { vol: a.vol, rate: a.rate, dividend: a.dividend, multiplier: a.multiplier, ivShift: ivShift / 100 };
    return (spot) => state.units * pnlAt(legs, spot, at, params);
  }

  function maxDays() {
    const a = state.analysis;
    const first = Math.min(...a.legs.filter(({ leg }) => leg.expiry).map(({ leg }) => Date.parse(`${leg.expiry}T21:00:00Z`)));
    return Math.max(0, Math.floor((first - Date.parse(a.as_of)) / 86400e3));
  }

  function draw() {
    const a = state.analysis;
    const days = Math.min(Number(dateSlider.value), maxDays());
    dateSlider.max = String(maxDays());
    const iv = Number(ivSlider.value);
    dateLabel.textContent = new Date(Date.parse(a.as_of) + days * 86400e3).toISOString().slice(0, 10);
    ivLabel.textContent = `${iv >= 0 ? "+" : ""}${iv} vol pts`;
    const at = curveAt(days, iv);
    const optionLegs = state.legs.map((l, i) => [l, i]).filter(([l]) => l.kind !== "underlying");
    const payoff = focus(a.figures.payoff, optionLegs.map(([l]) => l.strike), a.spot);
    plot(chart, [
      { x: payoff.price, y: payoff.expiry_pnl.map((y) => y * state.units), name: "at expiry", mode: "lines", line: { color: "#2563eb" } },
      { x: payoff.price, y: payoff.price.map(at), name: `on ${dateLabel.textContent}, IV ${ivLabel.textContent}`, mode: "lines", line: { color: "#f59e0b", dash: "dot" } },
    ], {
      shapes: [
        { type: "line", xref: "x", yref: "paper", x0: a.spot, x1: a.spot, y0: 0, y1: 1, line: { color: "#888", dash: "dash" }, editable: false },
        ...optionLegs.map(([l]) => ({ type: "line", xref: "x", yref: "paper", x0: l.strike, x1: l.strike, y0: 0.05, y1: 0.95, line: { color: l.sign > 0 ? "#16a34a" : "#dc2626", width: 3 } })),
      ],
    }, { edits: { shapePosition: true } });
    chart.dataset.strikes = optionLegs.map(([l]) => l.strike).join(",");
    if (!chart.dataset.bound) {
      chart.dataset.bound = "1";
      chart.on("plotly_relayout", (change) => onDrag(change));
    }
    drawGrid(a);
  }

  async function onDrag(change) {
    const optionLegs = state.legs.filter((l) => l.kind !== "underlying");
    for (const [key, value] of Object.entries(change)) {
      const m = key.match(/^shapes\[(\d+)\]\.x0$/);
      if (!m || Number(m[1]) === 0) continue;
      const leg = optionLegs[Number(m[1]) - 1];
      if (!leg) continue;
      const listed = await strikesOf(leg.expiry, leg.kind);
      const moved = nearest(listed, value);
      const delta = moved - leg.strike;
      const targets = state.shift ? optionLegs : [leg];
      for (const t of targets) t.strike = nearest(await strikesOf(t.expiry, t.kind), t.strike + delta);
      renderLegs();
      analyse();
      return;
    }
  }

  function drawGrid(a) {
    const prices = Array.from({ length: 9 }, (_, k) => a.spot * (1 + (k - 4) * 0.02));
    const total = maxDays();
    const dates = Array.from({ length: 5 }, (_, k) => Math.round((total * k) / 4));
    const iv = Number(ivSlider.value);
    const values = dates.map((d) => prices.map(curveAt(d, iv)));
    const scale = Math.max(1, ...values.flat().map(Math.abs));
    const cell = (v) => h("td", { style: `background: ${v >= 0 ? `rgba(22,163,74,${(0.6 * v) / scale})` : `rgba(220,38,38,${(-0.6 * v) / scale})`}` }, money(v));
    grid.replaceChildren(h("table", { class: "pnl-grid" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "price"), dates.map((d) => h("th", { scope: "col" }, new Date(Date.parse(a.as_of) + d * 86400e3).toISOString().slice(5, 10))))),
      h("tbody", {}, prices.map((p, i) => h("tr", {}, h("th", { scope: "row" }, p.toFixed(2)), dates.map((_, j) => cell(values[j][i])))))));
  }
  for (const slider of [dateSlider, ivSlider]) slider.addEventListener("input", () => state.analysis && draw());

  async function loadTemplates() {
    const list = await get("/leg-templates");
    templates.replaceChildren(...list.map((t) => h("li", { "data-template": t.name }, h("span", {}, `${t.name} (${t.underlying}, ${t.structure.legs.length} legs)`),
      h("button", { type: "button", "data-action": "load", onclick: () => load(t) }, "Load"),
      can("trader") ? h("button", { type: "button", "data-action": "delete", onclick: () => remove(t) }, "Delete") : null)));
  }

  async function load(t) {
    underlying.value = t.underlying;
    state.legs = t.structure.legs.map((l) => ({ kind: l.kind, sign: Math.sign(l.quantity), qty: Math.abs(l.quantity), expiry: l.expiry || state.expiries[0].expiry, strike: l.strike }));
    for (const l of state.legs) if (l.kind !== "underlying") await strikesOf(l.expiry, l.kind);
    templateName.value = t.name;
    renderLegs();
    analyse();
  }

  async function save() {
    try {
      await post("/leg-templates", { name: templateName.value.trim(), underlying: underlying.value, structure: structure() });
      showFieldErrors(form, []);
      await loadTemplates();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      showFieldErrors(form, error.fields.length ? error.fields : [{ loc: ["name"], msg: error.message }]);
    }
  }

  async function remove(t) {
    if (!(await confirmDialog(`Delete the leg set ${t.name}?`))) return;
    await api("DELETE", `/leg-templates/${t.leg_template_id}`);
    await loadTemplates();
  }

  async function submit() {
    const s = structure();
    const order = { kind: "open", underlying: underlying.value, units: Number(units.value) * state.units, structure: s, execution: execution.value() };
    if (order.execution.type === "market") order.execution = { type: "limit", price: state.analysis.market.mid / state.analysis.multiplier };
    const ok = await confirmDialog(`Submit ${order.units} unit(s) of these legs?`, s.legs.map((l) => `${l.quantity > 0 ? "+" : ""}${l.quantity} ${l.kind} ${l.strike ?? ""} ${l.expiry ?? ""}`).join("; "), `Execution: ${order.execution.type}`);
    if (!ok) return;
    try {
      const queued = await post("/orders", order, { "Idempotency-Key": idempotencyKey() });
      const line = h("span", { "data-testid": "builder-submitted-status" }, queued.status);
      status.replaceChildren(h("p", {}, "Order ", h("code", {}, queued.order_id), ": ", line));
      state.stops.push(followOrder(feed, queued.order_id, (st) => { line.textContent = st; }));
    } catch (error) {
      status.replaceChildren(h("p", { class: "error", role: "alert" }, error.message));
    }
  }

  form.append(
    h("div", { class: "row" }, field("Underlying", underlying),
      h("button", { type: "button", "data-action": "add-call", onclick: () => addLeg("call") }, "+ call"),
      h("button", { type: "button", "data-action": "add-put", onclick: () => addLeg("put") }, "+ put"),
      h("button", { type: "button", "data-action": "add-stock", onclick: () => addLeg("underlying") }, "+ stock")),
    h("div", { class: "scroll" }, h("table", { class: "builder" }, h("thead", {}, h("tr", {}, ["kind", "side", "qty", "expiry", "strike", ""].map((c) => h("th", { scope: "col" }, c)))), legsBody)),
    h("fieldset", {}, h("legend", {}, "Saved leg sets"),
      h("div", { class: "row" }, field("Name", templateName),
        can("trader") ? h("button", { type: "button", "data-action": "save", onclick: save }, "Save legs") : null),
      templates),
    can("trader") ? h("fieldset", {}, h("legend", {}, "Order"), field("Units", units), execution.el,
      h("button", { type: "button", class: "primary", "data-testid": "builder-submit", onclick: submit }, "Submit…"), status) : null);

  let open = true;
  (async () => {
    const names = await chain.quotedUnderlyings(() => out.replaceChildren(h("p", { class: "notice", role: "status" }, "Waiting for the node's first option quotes…")), () => open);
    if (!names.length) return; // the page was left
    underlying.replaceChildren(...names.map((n) => h("option", { value: n }, n)));
    state.expiries = await chain.expiries(underlying.value);
    const q = await chain.quotes(underlying.value, state.expiries[0].expiry);
    state.spot = q.spot ? q.spot.mid : null;
    await loadTemplates();
    out.replaceChildren(h("p", {}, "Add legs to see their payoff."));
  })();
  return () => {
    open = false;
    window.removeEventListener("keydown", onKey);
    window.removeEventListener("keyup", onKey);
    state.stops.forEach((stop) => stop());
  };
}

function nearest(list, value) {
  return list.reduce((best, k) => (Math.abs(k - value) < Math.abs(best - value) ? k : best), list[0]);
}
