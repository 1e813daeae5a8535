// Page 1: the strategy selector. Every catalogue structure grouped and searchable with a payoff sketch;
// inputs from the live chain; a live preview (POST /analysis/preview) as inputs change; submit with confirmation.
import { ApiError, get, idempotencyKey, post } from "./api.js";
import { figures, legsTable } from "./analysis.js";
import { chartBox, focus, payoffTraces, plot, sketch } from "./chart.js";
import * as chain from "./chain.js";
import { confirmDialog, field, h, select, showFieldErrors } from "./dom.js";
import { executionForm, followOrder } from "./execution.js";
import { placeByDelta, placeStrikes } from "./options.js";

const GROUPS = [
  ["Verticals", ["vertical"]], ["Butterflies", ["butterfly"]], ["Condors", ["condor"]],
  ["Calendars and diagonals", ["calendar", "diagonal"]], ["Straddles and strangles", ["straddle", "strangle", "combination"]],
  ["Ratios and ladders", ["ratio", "ladder"]], ["Synthetics", ["synthetic"]], ["Single options", ["single"]],
  ["With stock", ["stock"]], ["Arbitrage", ["arbitrage"]],
];

export function selectorPage(root, { feed, can, args }) {
  const state = { strategies: [], strategy: null, expiries: [], strikeList: [], spot: null, seq: 0, shown: 0, stop: [] };
  const search = h("input", { type: "search", id: "strategy-search", placeholder: "iron condor, calendar, ..." });
  const list = h("div", { class: "strategy-list", "data-testid": "strategy-list" });
  const form = h("form", { class: "card", "data-testid": "order-form", onsubmit: (e) => e.preventDefault() },
    h("p", { class: "hint" }, "Choose a strategy on the left (or search) to place it on the live chain and preview it."));
  const preview = h("div", { class: "preview", "data-testid": "preview", "aria-live": "polite" });
  const chart = chartBox({ "data-testid": "payoff-chart" });
  const status = h("div", { class: "order-status", "data-testid": "order-status", "aria-live": "polite" });
  root.append(
    h("h1", {}, "Strategies"),
    h("div", { class: "split" },
      h("aside", { class: "card" }, field("Search strategies", search), list),
      h("div", {}, form, preview, chart, status)));

  const renderList = () => {
    const q = search.value.trim().toLowerCase();
    list.replaceChildren();
    for (const [label, categories] of GROUPS) {
      const items = state.strategies.filter((s) => categories.includes(s.category) &&
        (!q || `${s.display_name} ${s.name} ${s.aliases.join(" ")} ${s.description}`.toLowerCase().includes(q)));
      if (!items.length) continue;
      list.append(h("h2", {}, label), h("ul", {}, items.map((s) => h("li", {},
        h("button", { type: "button", class: s === state.strategy ? "strategy active" : "strategy", "data-strategy": s.name, title: s.description,
          onclick: () => choose(s) }, sketch(s), h("span", {}, s.display_name), h("small", {}, `${s.net} · ${s.direction}`))))));
    }
  };
  search.addEventListener("input", renderList);

  const underlying = select([], "", { name: "underlying", "data-loc": "underlying" });
  const side = select(["buy", "sell"], "buy", { name: "side", "data-loc": "side" });
  const units = h("input", { type: "number", min: "1", value: "1", name: "units", "data-loc": "units" });
  const placement = select([["atm", "ATM offset"], ["delta", "delta of the short strikes"]], "atm", { name: "placement", "aria-describedby": "place-hint" });
  const delta = h("input", { type: "number", value: "0.16", min: "0.01", max: "0.99", step: "0.01", name: "delta" });
  const centre = h("input", { type: "number", value: "0", step: "1", name: "atm_offset", "aria-describedby": "place-hint" });
  const placeNote = h("p", { id: "place-hint", class: "hint", "aria-live": "polite" });
  const width = h("input", { type: "number", value: "2", min: "1", step: "1", name: "width_steps" });
  const legsBox = h("div", { class: "row" });
  const execution = executionForm(() => schedule());
  let expirySelects = [];
  let strikeSelects = [];

  let open = true;
  async function loadChain() {
    const waiting = () => status.replaceChildren(h("p", { class: "notice", role: "status" }, "Waiting for the node's first option quotes…"));
    const names = await chain.quotedUnderlyings(waiting, () => open);
    status.replaceChildren();
    if (!names.length) return; // the page was left
    underlying.replaceChildren(...names.map((n) => h("option", { value: n }, n)));
    state.expiries = await chain.expiries(underlying.value);
  }

  async function choose(strategy) {
    state.strategy = strategy;
    renderList();
    if (!state.expiries.length) return; // chosen before the chain came: placed once it does
    history.replaceState(null, "", `#/strategies/${strategy.name}`);
    const firstUseful = Math.max(0, state.expiries.findIndex((e) => e.dte >= 20));
    expirySelects = strategy.expiries.map((name, i) => select(state.expiries.map((e) => [e.expiry, chain.expiryLabel(e)]),
      (state.expiries[Math.min(firstUseful + i, state.expiries.length - 1)] || {}).expiry, { name, "data-loc": `structure.expiries.${i}` }));
    await placeAll();
  }

  async function placeAll() {
    const strategy = state.strategy;
    const expiry = expirySelects[0].value;
    const q = await chain.quotes(underlying.value, expiry);
    state.spot = q.spot ? q.spot.mid : null;
    // strikes quoted on both rights, so that any leg the structure puts there can be priced
    const quoted = (right) => new Set(q.quotes.filter((x) => x.right === right && x.mid !== null).map((x) => x.strike));
    const calls = quoted("call");
    const puts = quoted("put");
    state.strikeList = [...calls].filter((k) => puts.has(k)).sort((a, b) => a - b);
    const atm = chain.atmIndex(state.strikeList, state.spot ?? state.strikeList[state.strikeList.length >> 1]);
    const steps = Math.max(1, Number(width.value || 1));
    const byDelta = (right) => new Map(q.quotes.filter((x) => x.right === right && x.greeks).map((x) => [x.strike, x.greeks.delta]));
    const placed = placement.value === "delta"
      ? placeByDelta(strategy, state.strikeList, byDelta, Number(delta.value || 0.16), steps)
      : placeStrikes(strategy, state.strikeList, atm + Number(centre.value || 0), steps);
    const fallback = placed ? null : placeStrikes(strategy, state.strikeList, atm, steps);
    placeNote.textContent = placed ? "placed on the quoted chain; then pick any strike"
      : "these settings break the structure's rules here: strikes placed around the money instead";
    const values = placed || fallback || strategy.strikes.map(() => state.strikeList[atm]);
    strikeSelects = strategy.strikes.map((name, i) => select(state.strikeList, values[i], { name, "data-loc": `structure.strikes.${i}` }));
    renderForm();
    schedule();
  }

  function renderForm() {
    const s = state.strategy;
    legsBox.replaceChildren(
      ...s.expiries.map((name, i) => field(name.replaceAll("_", " "), expirySelects[i])),
      ...s.strikes.map((name, i) => field(name.replaceAll("_", " "), strikeSelects[i])));
    for (const el of [...expirySelects, ...strikeSelects]) el.addEventListener("change", () => schedule());
    expirySelects[0].addEventListener("change", () => placeAll());
    form.replaceChildren(
      h("h2", { "data-testid": "strategy-name" }, s.display_name),
      h("p", { class: "hint" }, s.description, " ", h("code", {}, s.legs.join("  "))),
      h("div", { class: "row" }, field("Underlying", underlying), field("Side", side), field("Units", units)),
      h("fieldset", {}, h("legend", {}, "Strikes and expiries"),
        h("div", { class: "row" }, field("Place strikes by", placement),
          placement.value === "delta" ? field("Short strike |delta|", delta) : field("ATM offset (strikes)", centre),
          field("Width (strikes)", width, "between strikes, or wings beyond the shorts"), placeNote),
        legsBox),
      execution.el,
      can("trader") ? h("button", { type: "button", class: "primary", "data-testid": "submit", onclick: submit }, "Submit…") : null);
  }
  for (const input of [side, units]) input.addEventListener("change", () => schedule());
  for (const input of [placement, delta, centre, width]) input.addEventListener("change", () => placeAll());

  const intent = () => ({
    kind: "open",
    underlying: underlying.value,
    side: side.value,
    units: Number(units.value),
    structure: { type: "catalogue", strategy: state.strategy.name, strikes: strikeSelects.map((s) => Number(s.value)), expiries: expirySelects.map((s) => s.value) },
    execution: execution.value(),
  });

  // Previews run one at a time; an input change while one is out sends one more when it answers.
  let inFlight = false;
  let again = false;
  function schedule() {
    if (!state.strategy) return;
    if (inFlight) { again = true; return; }
    runPreview();
  }
  async function runPreview() {
    inFlight = true;
    again = false;
    const seq = ++state.seq;
    try {
      const p = await post("/analysis/preview", intent());
      showFieldErrors(form, []);
      const a = p.analysis;
      execution.setMid(a.market.mid / a.multiplier);
      preview.replaceChildren(figures(a, p.units), legsTable(a),
        p.limit_vs_mid === null ? "" : h("p", {}, `limit vs mid: ${p.limit_vs_mid.toFixed(2)} per share`));
      const strikes = a.legs.map(({ leg }) => leg.strike).filter((k) => k !== null && k !== undefined);
      plot(chart, payoffTraces(focus(a.figures.payoff, strikes, a.spot)), { shapes: [{ type: "line", xref: "x", yref: "paper", x0: a.spot, x1: a.spot, y0: 0, y1: 1, line: { color: "#888", dash: "dash" } }] });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      const unplaced = showFieldErrors(form, error.fields);
      preview.replaceChildren(h("p", { class: "error", role: "alert" }, error.fields.length ? unplaced.join("; ") || "see the fields above" : error.message));
    } finally {
      preview.dataset.seq = String(seq);
      inFlight = false;
      if (again) runPreview();
    }
  }

  async function submit() {
    const order = intent();
    const ok = await confirmDialog(`Submit ${order.side} ${order.units} × ${state.strategy.display_name}?`,
      `${order.structure.strikes.join(" / ")} · ${order.structure.expiries.join(", ")}`,
      `Execution: ${order.execution.type}${order.execution.price !== undefined ? ` at ${order.execution.price}` : ""}${order.execution.limit_price !== undefined ? ` limit ${order.execution.limit_price}` : ""}`);
    if (!ok) return;
    try {
      const queued = await post("/orders", order, { "Idempotency-Key": idempotencyKey() });
      const line = h("span", { "data-testid": "submitted-status" }, queued.status);
      status.replaceChildren(h("p", {}, "Order ", h("code", { "data-testid": "order-id" }, queued.order_id), ": ", line));
      state.stop.push(followOrder(feed, queued.order_id, (s, reason) => { line.textContent = reason ? `${s} (${reason})` : s; }));
    } catch (error) {
      status.replaceChildren(h("p", { class: "error", role: "alert" }, error.message));
    }
  }

  (async () => {
    state.strategies = await get("/strategies");
    renderList(); // the catalogue does not wait for the chain
    await loadChain();
    const wanted = state.strategies.find((s) => s.name === args[0]);
    if (wanted || state.strategy) choose(wanted || state.strategy);
  })();
  return () => {
    open = false;
    state.stop.forEach((stop) => stop());
  };
}
