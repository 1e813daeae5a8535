// The analysis figures both the selector and the builder show: market, Greeks, max P/L, breakevens, PoP.
import { h, money, num, pct, table } from "./dom.js";

export function figures(analysis, units = 1) {
  const f = analysis.figures;
  const m = analysis.market;
  const g = f.greeks;
  const net = (x) => `${money(Math.abs(x * units))} ${x > 0 ? "debit" : x < 0 ? "credit" : ""}`;
  return h("div", { class: "figures", "data-testid": "figures" },
    h("dl", {},
      h("dt", {}, "Net at bid / mid / ask"), h("dd", { "data-testid": "net" }, `${net(m.bid)} / ${net(m.mid)} / ${net(m.ask)}`),
      h("dt", {}, "Max profit"), h("dd", { "data-testid": "max-profit" }, f.max_profit === null ? "unlimited" : money(f.max_profit * units)),
      h("dt", {}, "Max loss"), h("dd", { "data-testid": "max-loss" }, f.max_loss === null ? "unlimited" : money(f.max_loss * units)),
      h("dt", {}, "Breakevens"), h("dd", { "data-testid": "breakevens" }, f.breakevens.map((b) => num(b)).join(", ") || "none"),
      h("dt", {}, "Probability of profit"), h("dd", { "data-testid": "pop" }, pct(f.probability_of_profit)),
      h("dt", {}, "Greeks (Δ Γ ν Θ)"), h("dd", { "data-testid": "greeks" }, [g.delta, g.gamma, g.vega, g.theta].map((x) => num(x * units)).join(" / ")),
      h("dt", {}, "Spot / vol"), h("dd", {}, `${num(analysis.spot)} / ${pct(analysis.vol)}`)));
}

export function legsTable(analysis) {
  return h("div", { class: "scroll" }, table(["leg", "qty", "bid", "ask", "mid", "IV", "Δ"], analysis.legs.map(({ leg, quote }) => [
    leg.kind === "underlying" ? "underlying" : `${leg.kind} ${leg.strike} ${leg.expiry}`,
    leg.quantity, num(quote.bid), num(quote.ask), num(quote.mid), leg.iv ? pct(leg.iv) : "—",
    quote.greeks ? num(quote.greeks.delta) : "—",
  ]), { class: "legs", "data-testid": "legs" }));
}
