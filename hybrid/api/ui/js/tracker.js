// Page 3: the position tracker. Every group from the WebSocket snapshots (about 1 Hz, sooner after fills),
// portfolio Greeks and P&L, the bot's state, working orders, the action feed, P&L history; controls with
// confirmation (close, close part, close all, roll, cancel, pause / resume) for the roles that may use them.
// The P&L history is the node's (GET /portfolio/history?lineages=true on open, then the feed's history events);
// the stress grid is the node's too (stress.js, GET /risk/stress).
import { api, get, idempotencyKey, post } from "./api.js";
import { chartBox, plot } from "./chart.js";
import { confirmDialog, download, h, money, num, signClass } from "./dom.js";
import { stressPanel } from "./stress.js";

const FINAL = new Set(["filled", "cancelled", "rejected", "failed", "expired"]);
const HISTORY = 2000; // points kept per series of the P&L history chart (the node samples each minute and on fills)

export function trackerPage(root, { feed, can }) {
  const portfolio = h("div", { class: "card portfolio", "data-testid": "portfolio" });
  const groups = h("tbody", { "data-testid": "groups" });
  const orders = h("tbody", { "data-testid": "orders" });
  const actions = h("ol", { class: "feed", "data-testid": "actions", reversed: true });
  const chart = chartBox({ "data-testid": "pnl-history" });
  const message = h("p", { class: "notice", role: "status", "data-testid": "tracker-message" });
  const stress = stressPanel();
  const historyBy = new Map(); // key ("portfolio" or a lineage's root group id) -> {x: [], y: []}
  const structures = new Map(); // lineage root id -> its structure, for the chart's legend
  let latest = null;

  const closeAll = can("trader") ? h("button", { type: "button", class: "danger", "data-testid": "close-all", onclick: () => onCloseAll() }, "Close all…") : null;
  root.append(
    h("h1", {}, "Positions"),
    portfolio,
    h("div", { class: "row" }, closeAll,
      h("button", { type: "button", onclick: () => exportGroups("csv") }, "Export CSV"),
      h("button", { type: "button", onclick: () => exportGroups("json") }, "Export JSON")),
    message,
    h("div", { class: "scroll" }, h("table", { class: "groups" },
      h("thead", {}, h("tr", {}, ["group", "structure", "source", "status", "units", "entry", "mark", "P&L", "P&L %", "Δ", "Γ", "ν", "Θ", "bot", ""].map((c) => h("th", { scope: "col" }, c)))),
      groups)),
    h("h2", {}, "P&L history (portfolio and each roll lineage)"), chart,
    h("h2", {}, "Stress: P&L under underlying moves and implied-vol shifts"), stress.el,
    h("div", { class: "split even" },
      h("div", {}, h("h2", {}, "Orders"), h("div", { class: "scroll" }, h("table", {},
        h("thead", {}, h("tr", {}, ["order", "status", "kind", "structure", "created", ""].map((c) => h("th", { scope: "col" }, c)))), orders))),
      h("div", {}, h("h2", {}, "Bot actions"), actions)));

  const act = async (title, body, path, payload) => {
    if (!(await confirmDialog(title, ...body))) return;
    try {
      const result = await post(path, payload, { "Idempotency-Key": idempotencyKey() });
      message.textContent = `${title.replace(/[?…]$/, "")}: ${result && result.order_id ? `order ${result.order_id} ${result.status}` : "done"}`;
    } catch (error) {
      message.textContent = error.message;
    }
  };

  // Inputs in the rows survive the rebuild of the table on every snapshot: their values are kept here.
  const drafts = new Map();
  function draft(key, initial, attrs) {
    const input = h("input", { ...attrs, value: drafts.get(key) ?? initial, "data-draft": key });
    input.addEventListener("input", () => drafts.set(key, input.value));
    return input;
  }

  function controls(g) {
    if (g.status !== "open") return [];
    const out = [];
    if (can("trader")) {
      out.push(h("button", { type: "button", "data-action": "close", onclick: () => act(`Close ${g.group_id}?`, [`${g.structure}: all ${g.units} units at market`], `/groups/${g.group_id}/close`, { execution: { type: "market" } }) }, "Close"));
      if (g.units > 1) {
        const units = draft(`${g.group_id}:units`, String(Math.floor(g.units / 2)), { type: "number", min: "1", max: String(g.units - 1), "aria-label": `units of ${g.group_id} to close`, class: "small" });
        out.push(units, h("button", { type: "button", "data-action": "close-part", onclick: () => act(`Close ${units.value} of ${g.units} units of ${g.group_id}?`, ["at market"], `/groups/${g.group_id}/close`, { execution: { type: "market" }, units: Number(units.value) }) }, "Close part"));
      }
      const dte = draft(`${g.group_id}:dte`, "30", { type: "number", min: "1", class: "small", "aria-label": `roll ${g.group_id} to at least this many DTE` });
      out.push(dte, h("button", { type: "button", "data-action": "roll", onclick: () => act(`Roll ${g.group_id}?`, [`to the first expiry with ${dte.value} to ${Number(dte.value) + 30} DTE, same strikes, two-part`], `/groups/${g.group_id}/roll`, { execution: { type: "two_part" }, dte: [{ min_dte: Number(dte.value), max_dte: Number(dte.value) + 30 }] }) }, "Roll"));
    }
    if (can("admin")) { // a group the bot has not taken on yet is registered by the API on the first override
      const paused = Boolean(g.management && g.management.state.paused);
      out.push(h("button", { type: "button", "data-action": "rules", onclick: () => editRules(g) }, "Rules…"));
      out.push(h("button", { type: "button", "data-action": paused ? "resume" : "pause", onclick: () => act(`${paused ? "Resume" : "Pause"} the bot on ${g.group_id}?`, [], `/groups/${g.group_id}/${paused ? "resume" : "pause"}`, { reason: "from the UI" }) }, paused ? "Resume bot" : "Pause bot"));
    }
    return out;
  }

  // The group's own management rules as JSON (empty: back to the bot's defaults); PUT /groups/{id}/rules.
  async function editRules(g) {
    const own = g.management ? g.management.state.rules : null;
    const text = h("textarea", { id: "rules-json", rows: "10", cols: "48", spellcheck: "false" }, own ? JSON.stringify(own, null, 2) : "");
    const ok = await confirmDialog(`Management rules of ${g.group_id}`, h("label", { for: "rules-json" }, "Rules (JSON, as docs/management.md; empty for the defaults)"), text);
    if (!ok) return;
    try {
      const rules = text.value.trim() ? JSON.parse(text.value) : null;
      await api("PUT", `/groups/${g.group_id}/rules`, { rules, reason: "from the UI" });
      message.textContent = `Rules of ${g.group_id} ${rules ? "set" : "back to the defaults"}`;
    } catch (error) {
      message.textContent = error instanceof SyntaxError ? `Rules are not JSON: ${error.message}` : error.message;
    }
  }

  function botCell(g, asOf) {
    const m = g.management;
    if (!m) return g.status === "open" ? h("small", { class: "hint", "data-field": "next" }, "not managed yet") : "—";
    const s = m.state;
    const bits = [s.paused ? "paused" : "managing"];
    if (s.fired_levels.length) bits.push(`tranches ${s.fired_levels.join(",")}`);
    if (s.stop_count) bits.push(`stop checks ${s.stop_count}`);
    if (s.exit_requested) bits.push(`exit: ${s.exit_requested}`);
    if (s.rules) bits.push("own rules");
    if (m.lineage && m.lineage.generation) bits.push(`roll #${m.lineage.generation}`);
    const rules = m.rules ? JSON.stringify(m.rules, null, 1) : "no bot runs in this node";
    return [h("span", {}, bits.join(" · ")), h("br"), h("small", { class: "hint", "data-field": "next", title: rules }, nextAction(g, asOf))];
  }

  // What the bot does next under the rules in force (the group's own, else the bot's): the next profit
  // tranche, the stop with its confirmations, the roll below a DTE (docs/management.md).
  function nextAction(g, asOf) {
    const { state: s, rules: r } = g.management;
    if (g.status !== "open") return "";
    if (s.paused) return "next: nothing (paused, a person manages it)";
    if (!r) return "no bot runs in this node";
    if (s.exit_requested) return `next: the ${s.exit_requested} close is working`;
    const parts = [];
    const t = r.profit_tranches.findIndex((_, i) => !s.fired_levels.includes(i + 1));
    if (t >= 0) parts.push(`take ${Math.round(100 * r.profit_tranches[t].fraction)}% of the units at +${r.profit_tranches[t].at_pct}%`);
    if (r.stop_loss_pct !== null) parts.push(`stop at ${r.stop_loss_pct}% (${s.stop_count}/${r.stop_confirmations} checks)`);
    const left = dte(g, asOf);
    if (r.roll) parts.push(`roll below ${r.roll.below_dte} DTE${left === null ? "" : ` (now ${left})`} to ${r.roll.target_dte_min}-${r.roll.target_dte_max} DTE`);
    return parts.length ? `next: ${parts.join(" · ")}` : "next: nothing (no exit rule)";
  }

  function dte(g, asOf) {
    const days = g.legs.filter((l) => l.expiry).map((l) => Math.floor((Date.parse(`${l.expiry}T00:00:00Z`) - Date.parse(asOf.slice(0, 10))) / 86400e3));
    return days.length ? Math.min(...days) : null;
  }

  function pnlPct(g) {
    if (g.pnl === null || !g.entry_premium || !g.opened_units) return null;
    return g.pnl / Math.abs(g.entry_premium * g.opened_units * 100);
  }

  // The group's mark: net premium per share of one unit at the option legs' mids (as the entry premium is),
  // from the snapshot's positions; null while a held leg has no mark.
  function mark(g, marks) {
    let total = 0;
    for (const leg of g.legs) {
      if (leg.kind === "underlying" || !leg.ratio) continue; // the entry premium is the option part only
      const m = marks.get(leg.instrument_id);
      if (m === undefined || m === null) return null;
      total += leg.ratio * m;
    }
    return total;
  }

  function row(g, marks, asOf) {
    const greeks = g.greeks || {};
    const p = pnlPct(g);
    return h("tr", { "data-group": g.group_id, class: `source-${g.source} status-${g.status}`, style: `--strategy-hue: ${hue(g.structure)}` },
      h("td", {}, h("code", { title: g.group_id }, g.group_id.length > 14 ? `${g.group_id.slice(0, 13)}…` : g.group_id)),
      h("td", {}, h("span", { class: "chip" }, g.structure)),
      h("td", {}, h("span", { class: `source source-${g.source}` }, g.source)),
      h("td", {}, g.status, g.balanced ? "" : " (unbalanced)"),
      h("td", { "data-field": "units" }, num(g.units, 0)),
      h("td", {}, num(g.entry_premium)),
      h("td", { "data-field": "mark" }, num(mark(g, marks))),
      h("td", { class: signClass(g.pnl), "data-field": "pnl" }, money(g.pnl)),
      h("td", { class: signClass(p) }, p === null ? "—" : `${(100 * p).toFixed(1)}%`),
      ...["delta", "gamma", "vega", "theta"].map((k) => h("td", {}, num(greeks[k]))),
      h("td", { "data-field": "bot" }, botCell(g, asOf)),
      h("td", { class: "controls" }, controls(g)));
  }

  function render(snapshot) {
    latest = snapshot;
    const pf = snapshot.portfolio;
    const g = pf.greeks;
    portfolio.replaceChildren(
      h("span", {}, "Total P&L ", h("strong", { class: signClass(pf.total_pnl), "data-testid": "total-pnl" }, money(pf.total_pnl))),
      h("span", {}, `realised ${money(pf.realized_pnl)} · unrealised ${money(pf.unrealized_pnl)}`),
      h("span", {}, `Δ ${num(g.delta)} Γ ${num(g.gamma)} ν ${num(g.vega)} Θ ${num(g.theta)}`),
      h("span", {}, `${pf.open_groups} open groups · ${pf.open_positions} positions${pf.unpriced_positions ? ` (${pf.unpriced_positions} unpriced)` : ""}`),
      h("span", { class: "hint" }, `as of ${pf.as_of}`));
    const shown = [...snapshot.groups].sort((a, b) => (a.status === "open" ? 0 : 1) - (b.status === "open" ? 0 : 1));
    const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.draft : undefined;
    const marks = new Map(snapshot.positions.map((p) => [p.instrument_id, p.mark]));
    groups.replaceChildren(...shown.map((group) => row(group, marks, pf.as_of)));
    if (focused) groups.querySelector(`[data-draft="${CSS.escape(focused)}"]`)?.focus();
    orders.replaceChildren(...snapshot.orders.slice(0, 30).map((o) => h("tr", { "data-order": o.order_id },
      h("td", {}, h("code", {}, o.order_id.slice(0, 12))), h("td", { "data-field": "status" }, o.status), h("td", {}, o.intent.kind),
      h("td", {}, o.intent.kind === "open" ? o.intent.structure.strategy || o.intent.structure.type : o.intent.group_id),
      h("td", {}, o.created_at.slice(11, 19)),
      h("td", {}, can("trader") && !FINAL.has(o.status) && o.status !== "cancel_requested"
        ? h("button", { type: "button", "data-action": "cancel", onclick: () => act(`Cancel order ${o.order_id.slice(0, 12)}?`, [], `/orders/${o.order_id}/cancel`, {}) }, "Cancel") : ""))));
    groups.dataset.seq = String((Number(groups.dataset.seq) || 0) + 1);
    if (historyDirty) {
      historyDirty = false;
      setTimeout(drawHistory, 0);
    }
    stress.update(snapshot);
    for (const g of snapshot.groups) structures.set(g.management && g.management.lineage ? g.management.lineage.root_id : g.group_id, g.structure);
  }

  // One point of a series ("portfolio" or a lineage root); a roll's child adds to its root's line.
  function push(key, at, y) {
    if (!historyBy.has(key)) historyBy.set(key, { x: [], y: [] });
    const series = historyBy.get(key);
    series.x.push(at);
    series.y.push(y);
    if (series.x.length > HISTORY) { series.x.shift(); series.y.shift(); }
  }

  function drawHistory() {
    const traces = [...historyBy].map(([key, s]) => ({
      x: s.x, y: s.y, mode: s.x.length > 1 ? "lines" : "markers", // a lone point needs a marker to show
      name: key === "portfolio" ? "portfolio" : `${structures.get(key) || "group"} ${key.slice(0, 10)}`,
      line: key === "portfolio" ? { width: 3, color: "#111827" } : { width: 1 },
    }));
    chart.dataset.points = String(historyBy.has("portfolio") ? historyBy.get("portfolio").x.length : 0);
    chart.dataset.lineages = String(historyBy.size - (historyBy.has("portfolio") ? 1 : 0));
    plot(chart, traces, { xaxis: { title: { text: "engine time" } } });
  }

  // New points are drawn right after the next snapshot's table (the live view), which leaves the chart
  // the second until the snapshot after it.
  let historyDirty = false;
  function onHistory(point) {
    push("portfolio", point.ts, point.portfolio);
    for (const l of point.lineages) push(l.root_id, point.ts, l.pnl);
    historyDirty = true;
  }

  function addAction(a) {
    actions.prepend(h("li", { "data-action-id": a.id }, h("time", {}, a.at.slice(0, 19).replace("T", " ")), " ", h("strong", {}, a.action),
      a.group_id ? ` ${a.group_id}` : "", a.template_id ? ` template ${a.template_id}` : "", a.reason ? ` — ${a.reason}` : ""));
    while (actions.children.length > 100) actions.lastChild.remove();
  }

  async function onCloseAll() {
    const open = latest ? latest.groups.filter((g) => g.status === "open").length : 0;
    if (!(await confirmDialog("Close all open groups?", `${open} open groups, each closed at market.`))) return;
    try {
      const result = await post("/groups/close-all", { execution: { type: "market" }, idempotency_key: idempotencyKey() });
      message.textContent = `Close all: ${result.orders.length} close orders queued`;
    } catch (error) {
      message.textContent = error.message;
    }
  }

  function exportGroups(kind) {
    const rows = latest ? latest.groups : [];
    if (kind === "json") return download("groups.json", JSON.stringify(rows, null, 2), "application/json");
    const cols = ["group_id", "structure", "source", "status", "units", "opened_units", "entry_premium", "exit_premium", "commissions", "pnl", "balanced"];
    const csv = [cols.join(","), ...rows.map((r) => cols.map((c) => JSON.stringify(r[c] ?? "")).join(","))].join("\n");
    download("groups.csv", csv, "text/csv");
  }

  // History events that arrive while the recorded history loads are applied after it, in order.
  let pending = [];
  const stops = [feed.on("snapshot", render), feed.on("action", addAction),
    feed.on("history", (point) => (pending ? pending.push(point) : onHistory(point)))];
  get(`/portfolio/history?lineages=true&limit=${HISTORY}`).then((recorded) => {
    for (const p of recorded.points) push("portfolio", p.ts, p.pnl);
    for (const l of recorded.lineages) for (const p of l.points) push(l.root_id, p.ts, p.pnl);
    const last = recorded.points.length ? Date.parse(recorded.points[recorded.points.length - 1].ts) : -Infinity;
    for (const point of pending) if (Date.parse(point.ts) > last) onHistory(point);
    pending = null;
    drawHistory();
  }).catch((error) => { message.textContent = error.message; });
  get("/actions?limit=50").then((list) => list.forEach(addAction)).catch((error) => { message.textContent = error.message; });
  return () => stops.forEach((stop) => stop());
}

function hue(name) {
  let x = 0;
  for (const c of name) x = (x * 31 + c.charCodeAt(0)) % 360;
  return x;
}
