// The tracker's stress panel: the P&L of the book, or of one group, under a grid of underlying moves and
// implied-vol shifts (GET /risk/stress, the API's default 41 x 21 grid), now or at a date's close. Asked again
// on demand, when the date changes and when the open groups change, not on every snapshot: the node reprices
// every leg at each of the grid's points.
import { ApiError, get } from "./api.js";
import { chartBox, plot } from "./chart.js";
import { field, h, money, select, showFieldErrors } from "./dom.js";

const BOOK = ""; // the selector's value for the whole book
const COLOURS = [[0, "#b91c1c"], [0.5, "#f8fafc"], [1, "#15803d"]]; // loss red, 0 white, profit green (zmid 0)
const TICKS = 9; // labelled moves on the y axis

export function stressPanel() {
  const chart = chartBox({ class: "chart stress", "data-testid": "stress-chart" });
  const show = select([[BOOK, "whole book"]], BOOK, { name: "stress_group", "data-testid": "stress-group" });
  const at = h("input", { type: "date", name: "stress_at", "data-loc": "query.at", "data-testid": "stress-at" });
  const refresh = h("button", { type: "button", "data-testid": "stress-refresh" }, "Refresh");
  const note = h("p", { class: "hint", "data-testid": "stress-note" });
  const message = h("p", { class: "notice", role: "status", "data-testid": "stress-message" });
  const controls = h("div", { class: "row" }, field("Show", show), field("At the close of", at, "empty: now; a date from today"), refresh);
  const el = h("div", { class: "card", "data-testid": "stress" }, controls, message, chart, note);
  let grid = null; // the latest answer
  let underlyings = new Map(); // group id -> underlying, from the snapshots
  let openKey = null; // the open groups and their units the last grid was asked for
  let inFlight = false;
  let again = false;

  async function load() {
    if (inFlight) { again = true; return; }
    inFlight = true;
    again = false;
    try {
      const [answer, chain] = await Promise.all([get(`/risk/stress${at.value ? `?at=${at.value}` : ""}`), get("/chain")]);
      showFieldErrors(controls, []);
      message.textContent = "";
      grid = { ...answer, spots: new Map(chain.map((u) => [u.underlying, u.quote && u.quote.mid])) };
      options();
      draw();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      message.textContent = showFieldErrors(controls, error.fields).join("; ") || (error.fields.length ? "" : error.message);
    } finally {
      inFlight = false;
      if (again) load();
    }
  }

  // The selector lists the book and each group of the latest grid; a group that has gone falls back to the book.
  function options() {
    const keep = grid.groups.some((g) => g.group_id === show.value) ? show.value : BOOK;
    show.replaceChildren(...[[BOOK, "whole book"], ...grid.groups.map((g) => [g.group_id, `${g.structure} ${g.group_id}`])]
      .map(([value, text]) => h("option", { value, selected: value === keep }, text)));
  }

  function draw() {
    const group = grid.groups.find((g) => g.group_id === show.value);
    const pnl = group ? group.pnl : grid.book;
    // a price next to each move when what is shown is on one underlying with a quote
    const names = new Set((group ? [group] : grid.groups).map((g) => underlyings.get(g.group_id)));
    const spot = names.size === 1 ? grid.spots.get([...names][0]) : null;
    const moves = grid.moves.map((m) => Math.round(m * 1e6) / 1e4); // % of spot
    const price = (m) => (spot ? ` (${(spot * (1 + m / 100)).toFixed(2)})` : "");
    const step = Math.max(1, Math.round((moves.length - 1) / (TICKS - 1)));
    const ticks = moves.filter((_, i) => i % step === 0);
    const text = pnl.map((row, i) => row.map((v, j) => `move ${moves[i]}%${price(moves[i])}, vol ${grid.vol_shifts[j] > 0 ? "+" : ""}${grid.vol_shifts[j]} pts: ${money(v)}`));
    plot(chart, [{
      type: "heatmap", x: grid.vol_shifts, y: moves, z: pnl, text, hovertemplate: "%{text}<extra></extra>",
      colorscale: COLOURS, zmid: 0, colorbar: { title: { text: "P&L ($)" } },
    }], {
      margin: { l: 110, r: 10, t: 10, b: 45 },
      xaxis: { title: { text: "implied-vol shift (vol points)" } },
      yaxis: { title: { text: `underlying move (%)${spot ? " and price" : ""}` }, tickvals: ticks, ticktext: ticks.map((m) => `${m}%${price(m)}`) },
    });
    chart.dataset.showing = group ? group.group_id : "book";
    chart.dataset.moves = String(pnl.length);
    chart.dataset.shifts = String(pnl.length ? pnl[0].length : 0);
    chart.dataset.asOf = grid.as_of;
    chart.dataset.seq = String((Number(chart.dataset.seq) || 0) + 1);
    const when = grid.at ? `at the close of ${grid.at}` : "now";
    note.textContent = `${group ? `${group.structure} ${group.group_id}` : `Whole book (${grid.groups.length} open groups)`}, ${when}, against the marks of ${grid.as_of}`
      + `${grid.unpriced.length ? `; left out (a leg has no mark): ${grid.unpriced.join(", ")}` : ""}.`;
  }

  show.addEventListener("change", () => grid && draw());
  at.addEventListener("change", load);
  refresh.addEventListener("click", load);

  return {
    el,
    // From each snapshot: a new grid only when the open groups or their units changed.
    update(snapshot) {
      const open = snapshot.groups.filter((g) => g.status === "open");
      underlyings = new Map(open.map((g) => [g.group_id, g.underlying]));
      const key = open.map((g) => `${g.group_id}:${g.units}`).sort().join(",");
      if (key === openKey) return;
      openKey = key;
      load();
    },
  };
}
