// Page 6: health. The node's mode, the data feed, the trading state with the circuit breakers' reasons and trip
// times, the pre-trade limits with their usage, and (admins only) a confirmed reset of the breakers.
import { get, post } from "./api.js";
import { confirmDialog, h, table } from "./dom.js";

const STALE_SECONDS = 60; // a quote older than this (engine time) shows the feed as stale

const number = (v) => (v === null || v === undefined ? "off" : Number(v).toLocaleString("en-US", { maximumFractionDigits: 2 }));

function feedState(underlying, engineTime) {
  const quote = underlying.quote;
  if (!quote || !quote.ts) return "no quote yet";
  const age = (Date.parse(engineTime) - Date.parse(quote.ts)) / 1000;
  const state = age > STALE_SECONDS ? `stale (last quote ${Math.round(age)} s old)` : "streaming";
  return `${state}: ${quote.ts}, mid ${quote.mid ?? "none"}`;
}

function breakerRows(breakers) {
  if (!breakers.length) return h("p", { class: "hint" }, "No strategy with a circuit breaker is running.");
  return h("div", { class: "scroll" }, table(
    ["Strategy", "State", "Reason", "Tripped at", "Trips", "Reset"],
    breakers.map((b) => [b.strategy_id, b.tripped ? `tripped: ${b.state}` : "armed", b.reason || "", b.tripped_at || "", String(b.trips), b.reset]),
    { "data-testid": "breakers" },
  ));
}

export function healthPage(root, { can }) {
  const node = h("dl", { class: "card", "data-testid": "health" });
  const trading = h("div", { class: "card", "data-testid": "trading" });
  const limits = h("div", { class: "card", "data-testid": "limits" });
  const notice = h("p", { class: "notice", role: "status", "data-testid": "reset-message" });
  root.append(h("h1", {}, "Health"), node, trading, limits);
  let latest = null;

  const reset = async () => {
    const tripped = latest ? latest.breakers.filter((b) => b.tripped) : [];
    const what = tripped.length ? tripped.map((b) => `${b.strategy_id}: ${b.reason}`) : ["No breaker is tripped now."];
    if (!(await confirmDialog("Reset the circuit breakers?", ...what, "Trading goes back to ACTIVE."))) return;
    try {
      const answer = await post("/risk/reset");
      notice.textContent = `Reset ${answer.reset.join(", ")}; trading state ${answer.risk.trading_state}.`;
    } catch (error) {
      notice.textContent = error.message;
    }
    await refresh();
  };
  const controls = can("admin")
    ? h("div", {}, h("button", { type: "button", "data-testid": "reset-breaker", onclick: reset }, "Reset circuit breaker"), notice)
    : "";

  const refresh = async () => {
    const [health, feeds, risk] = await Promise.all([get("/health"), get("/chain"), get("/risk")]);
    latest = risk;
    const e = health.engine;
    node.replaceChildren(...[
      ["Node", h("strong", { "data-testid": "node-mode" }, health.mode === "ib" ? "Interactive Brokers" : health.mode === "paper" ? "paper" : "unknown")],
      ["API", `version ${health.api_version}, you are ${health.principal} (${health.role})`],
      ["Engine time", e.engine_time],
      ...feeds.map((u) => [`Data feed ${u.underlying}`, h("span", { "data-testid": "feed-state" }, feedState(u, e.engine_time))]),
      ["Instruments", String(e.instruments)],
      ["Open positions", String(e.open_positions)],
      ["Orders waiting for the engine", String(health.queued_orders)],
      ["WebSocket clients", String(health.websocket_clients)],
    ].flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
    const state = risk.trading_state || "unknown";
    const tripped = risk.breakers.filter((b) => b.tripped);
    trading.replaceChildren(
      h("h2", {}, "Trading state"),
      h("p", {}, h("strong", { class: `state-${state.toLowerCase()}`, "data-testid": "trading-state" }, state),
        tripped.length ? ` (circuit breaker: ${tripped.map((b) => `${b.reason}, tripped ${b.tripped_at}`).join("; ")})` : ""),
      breakerRows(risk.breakers),
      controls,
    );
    limits.replaceChildren(
      h("h2", {}, "Pre-trade limits"),
      risk.gate
        ? h("div", { class: "scroll" }, table(["Scope", "Limit", "Setting", "Usage"],
          risk.limits.map((l) => [l.scope, l.limit, number(l.value), number(l.usage)]), { "data-testid": "limit-rows" }))
        : h("p", { class: "hint" }, "No account risk gate in this run (hybrid.risk.account:AccountRisk)."),
      risk.refusals.length
        ? h("div", { class: "scroll" }, table(["At", "Source", "Order", "Reason"],
          risk.refusals.slice().reverse().map((r) => [r.at, r.source, `${r.structure} x${r.units}`, r.reason]), { "data-testid": "refusals" }))
        : h("p", { class: "hint" }, "No order refused by the limits."),
    );
  };
  refresh();
  const timer = setInterval(refresh, 5000);
  return () => clearInterval(timer);
}
