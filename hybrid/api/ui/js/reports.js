// Page 5: backtest reports read from their folders (/reports): the list with headline figures, and one
// report's equity curve, groups, fill-rate table and bot actions. Nothing is re-run.
import { get } from "./api.js";
import { chartBox, plot } from "./chart.js";
import { h, money, num, pct, signClass, table } from "./dom.js";

export function reportsPage(root, { args }) {
  root.append(h("h1", {}, "Backtests"));
  const body = h("div", { "data-testid": "reports" });
  root.append(body);
  (args[0] ? showReport(body, args[0]) : showList(body)).catch((error) => body.replaceChildren(h("p", { class: "error", role: "alert" }, error.message)));
}

async function showList(body) {
  const reports = await get("/reports");
  if (!reports.length) {
    body.replaceChildren(h("p", {}, "No reports yet: run ", h("code", {}, "make demo"), "."));
    return;
  }
  body.replaceChildren(h("div", { class: "scroll" }, table(["report", "period", "groups", "total P&L", "win rate", "max drawdown", "Sharpe", "balanced"],
    [...reports].reverse().map((r) => [
      h("a", { href: `#/reports/${encodeURIComponent(r.name)}`, "data-report": r.name }, r.name),
      `${(r.start || "").slice(0, 10)} – ${(r.end || "").slice(0, 10)}`, r.groups ?? "—",
      h("td", { class: signClass(r.total_pnl) }, money(r.total_pnl)), pct(r.win_rate), money(r.max_drawdown), num(r.sharpe), r.all_groups_balanced ? "yes" : "no",
    ]), { "data-testid": "report-list" })));
}

async function showReport(body, name) {
  const r = await get(`/reports/${encodeURIComponent(name)}`);
  const s = r.summary;
  const stats = s.statistics || {};
  const chart = chartBox({ "data-testid": "equity-chart" });
  const groups = s.groups || [];
  body.replaceChildren(
    h("p", {}, h("a", { href: "#/reports" }, "← all reports")),
    h("h2", { "data-testid": "report-name" }, r.info.name),
    h("p", {}, `${s.config_file} · ${s.start} – ${s.end} · seed ${s.seed} · total P&L `, h("strong", { class: signClass(r.info.total_pnl) }, money(r.info.total_pnl)),
      ` · ${(stats.groups || {}).count ?? groups.length} groups, win rate ${pct(r.info.win_rate)}, max drawdown ${money(r.info.max_drawdown)}`),
    h("h3", {}, "Equity"), chart,
    h("h3", {}, "Groups"),
    h("div", { class: "scroll" }, table(["group", "structure", "source", "status", "units", "entry", "exit", "P&L", "balanced"], groups.map((g) => [
      h("code", {}, g.group_id), g.structure, g.source, g.status, num(g.opened_units, 0), num(g.entry_premium), num(g.exit_premium),
      h("td", { class: signClass(g.pnl) }, money(g.pnl)), g.balanced ? "yes" : "no",
    ]), { "data-testid": "report-groups" })),
    h("h3", {}, "Fill rates"),
    h("div", { class: "scroll" }, rowsTable(r.fill_rates, "report-fill-rates")),
    h("h3", {}, "Bot actions"),
    h("div", { class: "scroll" }, rowsTable(r.actions, "report-actions", ["at", "action", "group_id", "template_id", "reason"])));
  const x = r.equity.rows.map((row) => new Date(Number(BigInt(row.ts_ns) / 1000000n)).toISOString());
  plot(chart, [{ x, y: r.equity.rows.map((row) => Number(row.equity)), mode: "lines", name: "equity (mid)" }], { xaxis: {}, yaxis: { title: { text: "USD" } } });
}

function rowsTable(t, testid, columns) {
  if (!t.rows.length) return h("p", { "data-testid": testid }, "none");
  const cols = columns || Object.keys(t.rows[0]);
  return h("div", { "data-testid": testid }, table(cols, t.rows.map((row) => cols.map((c) => row[c] ?? ""))), t.truncated ? h("p", { class: "hint" }, "(more rows in the file)") : null);
}
