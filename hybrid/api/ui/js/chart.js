// Plotly charts (Plotly.js from the installed plotly wheel, loaded by index.html) and payoff sketches.
import { h } from "./dom.js";
import { bs, templateLegs, placeStrikes } from "./options.js";

const LAYOUT = {
  margin: { l: 50, r: 10, t: 30, b: 40 },
  paper_bgcolor: "rgba(0,0,0,0)",
  plot_bgcolor: "rgba(0,0,0,0)",
  legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" }, // above the plot: never over the axis title
  xaxis: { title: { text: "underlying price" } },
  yaxis: { title: { text: "P&L ($)" }, zeroline: true },
};

export function plot(el, traces, layout = {}, config = {}) {
  return window.Plotly.react(el, traces, { ...LAYOUT, ...layout }, { displaylogo: false, responsive: true, ...config });
}

// The payoff grid cut to the prices that matter (the strikes and spot, with room either side), so a narrow
// structure is not a spike in a wide chart and far-away values do not set the y axis.
export function focus(payoff, strikes, spot) {
  const xs = [...strikes, spot].filter(Number.isFinite);
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  const pad = Math.max(0.6 * (hi - lo), 0.03 * spot);
  const keep = payoff.price.map((x) => x >= lo - pad && x <= hi + pad);
  if (keep.filter(Boolean).length < 10) return payoff;
  const cut = (values) => values.filter((_, i) => keep[i]);
  return { ...payoff, price: cut(payoff.price), expiry_pnl: cut(payoff.expiry_pnl), today_pnl: payoff.today_pnl && cut(payoff.today_pnl) };
}

export function payoffTraces(payoff, extra = []) {
  return [
    { x: payoff.price, y: payoff.expiry_pnl, name: "at expiry", mode: "lines", line: { color: "#2563eb" } },
    { x: payoff.price, y: payoff.today_pnl, name: "today", mode: "lines", line: { color: "#f59e0b", dash: "dot" } },
    ...extra,
  ];
}

// A tiny SVG of a catalogue structure's P&L at its first expiry on a made-up chain (strikes 80..120,
// 30 days between expiries, 30% vol): the shape only, for the strategy list.
export function sketch(strategy) {
  const strikes = Array.from({ length: 41 }, (_, i) => 80 + i);
  const values = placeStrikes(strategy, strikes, 20, 4);
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 60 30");
  svg.setAttribute("class", "sketch");
  svg.setAttribute("aria-hidden", "true");
  if (!values) return svg;
  const expiries = strategy.expiries.map((_, i) => i);
  const legs = templateLegs(strategy, values, expiries, 1).filter(Boolean);
  const premium = (leg, years) => (leg.kind === "underlying" ? 100 : bs(leg.kind, 100, leg.strike, years, 0.3, 0, 0));
  const ys = [];
  for (let x = 70; x <= 130; x += 1) {
    let y = 0;
    for (const leg of legs) {
      const now = leg.kind === "underlying" ? x : bs(leg.kind, x, leg.strike, (30 * leg.expiry) / 365, 0.3, 0, 0);
      y += leg.quantity * (now - premium(leg, (30 * (leg.expiry + 1)) / 365));
    }
    ys.push(y);
  }
  const lo = Math.min(...ys, 0);
  const hi = Math.max(...ys, 0);
  const scale = (y) => 28 - ((y - lo) / (hi - lo || 1)) * 26;
  const line = (d, cls) => {
    const p = document.createElementNS("http://www.w3.org/2000/svg", "path");
    p.setAttribute("d", d);
    p.setAttribute("class", cls);
    svg.append(p);
  };
  line(`M0 ${scale(0)} H60`, "zero");
  line(ys.map((y, i) => `${i ? "L" : "M"}${i} ${scale(y).toFixed(1)}`).join(" "), "curve");
  return svg;
}

export const chartBox = (attrs = {}) => h("div", { class: "chart", ...attrs });
