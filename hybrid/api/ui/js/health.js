// Page 6: health. The engine's clock and trading state, the queue's backlog, the feed's freshness.
import { get } from "./api.js";
import { h } from "./dom.js";

export function healthPage(root) {
  const body = h("dl", { class: "card", "data-testid": "health" });
  root.append(h("h1", {}, "Health"), body);
  const refresh = async () => {
    const health = await get("/health");
    const e = health.engine;
    const feeds = await get("/chain");
    const rows = [
      ["API", `version ${health.api_version}, you are ${health.principal} (${health.role})`],
      ["Trading state", h("strong", { class: `state-${(e.trading_state || "unknown").toLowerCase()}`, "data-testid": "trading-state" }, e.trading_state || "unknown")],
      ["Engine time", e.engine_time],
      ["Underlyings", e.underlyings.join(", ") || "none"],
      ["Instruments", String(e.instruments)],
      ["Open positions", String(e.open_positions)],
      ["Orders waiting for the engine", String(health.queued_orders)],
      ["WebSocket clients", String(health.websocket_clients)],
      ...feeds.map((u) => [`Data feed ${u.underlying}`, u.quote && u.quote.ts ? `last quote ${u.quote.ts} (${u.quote.mid})` : "no quote yet"]),
    ];
    body.replaceChildren(...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
  };
  refresh();
  const timer = setInterval(refresh, 5000);
  return () => clearInterval(timer);
}
