// Page 4: recurring templates. The list with enabled switches, next fire times and last runs (fired /
// skipped and why); a form to create or edit one, with the API's field errors next to the fields they name.
import { ApiError, api, get, post } from "./api.js";
import { confirmDialog, field, h, select, showFieldErrors } from "./dom.js";

const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"];
// The schedule's own clock: the API answers UTC instants, the template says New York wall time.
const NEW_YORK = new Intl.DateTimeFormat("en-US", { timeZone: "America/New_York", weekday: "short", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });

export function recurringPage(root, { can }) {
  const list = h("div", { "data-testid": "recurring-list" });
  const form = h("form", { class: "card", "data-testid": "recurring-form", novalidate: true });
  const notice = h("p", { class: "notice", role: "status", "data-testid": "recurring-message" });
  root.append(h("h1", {}, "Recurring templates"), notice, list, can("admin") ? form : null);
  let editing = null;

  const name = h("input", { type: "text", name: "name", "data-loc": "name" });
  const kind = select([["daily", "daily"], ["weekly", "weekly"]], "weekly", { name: "schedule_kind", "data-loc": "schedule.kind" });
  const at = h("input", { type: "text", name: "at", value: "10:00", placeholder: "HH:MM", "data-loc": "schedule.at" });
  const days = WEEKDAYS.map((d) => h("input", { type: "checkbox", value: d, checked: d === "mon", name: `weekday_${d}` }));
  const daysBox = h("fieldset", { class: "weekdays", "data-loc": "schedule.weekdays", id: "weekdays" }, h("legend", {}, "Weekdays"),
    days.map((box) => h("label", {}, box, box.value)), h("small", { class: "error", "data-error-for": "weekdays", role: "alert" }));
  const strategy = h("input", { type: "text", name: "strategy", value: "iron_condor", "data-loc": "order.structure.strategy" });
  const strikes = h("input", { type: "text", name: "strikes", value: "width -5 from short_put_strike, delta 0.16, delta 0.16, width 5 from short_call_strike", "data-loc": "order.structure.strikes" });
  const dte = h("input", { type: "text", name: "dte", value: "30-45", placeholder: "min-max", "data-loc": "order.structure.expiries" });
  const units = h("input", { type: "number", name: "units", value: "1", min: "1", "data-loc": "order.units" });
  const underlying = h("input", { type: "text", name: "underlying", value: "SPY", "data-loc": "order.underlying" });
  const enabled = h("input", { type: "checkbox", name: "enabled", checked: true, "data-loc": "enabled" });
  const title = h("h2", {}, "New template");

  form.append(title,
    h("div", { class: "row" }, field("Name", name), field("Underlying", underlying), field("Units", units)),
    h("div", { class: "row" }, field("Schedule", kind), field("At (New York)", at), daysBox),
    h("div", { class: "row" }, field("Strategy", strategy, "catalogue name"), field("Strikes", strikes, "per strike parameter, in order: delta 0.16, atm N, or width ±points from NAME"), field("DTE window", dte)),
    field("Enabled", enabled),
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary", "data-testid": "recurring-save" }, "Save"),
      h("button", { type: "button", onclick: () => reset() }, "New")));

  // "delta 0.16, width 5 from short_call_strike" -> strike rules (a width without "from": the last delta/atm strike).
  function strikeRules(text, strategyInfo) {
    const names = strategyInfo ? strategyInfo.strikes : [];
    let anchor = null;
    return text.split(",").map((part, i) => {
      const [by, raw, , from] = part.trim().split(/\s+/);
      const value = Number(raw);
      if (by === "delta") { anchor = names[i]; return { by: "delta", delta: value }; }
      if (by === "atm") { anchor = names[i]; return { by: "atm_offset", steps: value }; }
      return { by: "width", from_strike: from || anchor || names[0] || "", points: value };
    });
  }

  let catalogue = [];
  function body() {
    const info = catalogue.find((s) => s.name === strategy.value.trim());
    const [lo, hi] = dte.value.split("-").map((x) => Number(x.trim()));
    const windows = (info ? info.expiries : ["e"]).map(() => ({ min_dte: lo, max_dte: hi }));
    const schedule = kind.value === "daily" ? { kind: "daily", at: at.value.trim() }
      : { kind: "weekly", at: at.value.trim(), weekdays: days.filter((d) => d.checked).map((d) => d.value) };
    return {
      name: name.value.trim(),
      enabled: enabled.checked,
      schedule,
      order: { kind: "open", underlying: underlying.value.trim(), units: Number(units.value), execution: { type: "two_part" },
        structure: { type: "rules", strategy: strategy.value.trim(), strikes: strikeRules(strikes.value, info), expiries: windows } },
    };
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const saved = editing ? await api("PUT", `/templates/${editing}`, body()) : await post("/templates", body());
      showFieldErrors(form, []);
      notice.textContent = `Saved template ${saved.template_id} (${saved.template.name}); next run ${saved.next_runs[0] || "none"}`;
      reset();
      await refresh();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      const unplaced = showFieldErrors(form, error.fields);
      notice.textContent = error.fields.length ? (unplaced.length ? unplaced.join("; ") : "Fix the fields marked below.") : error.message;
    }
  });

  function reset() {
    editing = null;
    title.textContent = "New template";
    showFieldErrors(form, []);
  }

  function edit(t) {
    editing = t.template_id;
    const tpl = t.template;
    title.textContent = `Edit template ${t.template_id}`;
    name.value = tpl.name;
    enabled.checked = tpl.enabled;
    kind.value = tpl.schedule.kind === "daily" ? "daily" : "weekly";
    at.value = (tpl.schedule.at || "10:00").slice(0, 5);
    for (const d of days) d.checked = (tpl.schedule.weekdays || []).includes(d.value);
    underlying.value = tpl.order.underlying;
    units.value = String(tpl.order.units);
    const s = tpl.order.structure;
    strategy.value = s.strategy || "";
    if (s.type === "rules") {
      strikes.value = s.strikes.map((r) => (r.by === "delta" ? `delta ${r.delta}` : r.by === "atm_offset" ? `atm ${r.steps}` : `width ${r.points} from ${r.from_strike}`)).join(", ");
      dte.value = `${s.expiries[0].min_dte}-${s.expiries[0].max_dte}`;
    }
    name.focus();
  }

  async function refresh() {
    const templates = await get("/templates?upcoming=3");
    const runs = await Promise.all(templates.map((t) => get(`/templates/${t.template_id}/runs?limit=3`)));
    list.replaceChildren(templates.length ? h("div", { class: "scroll" }, h("table", {},
      h("thead", {}, h("tr", {}, ["id", "name", "enabled", "schedule", "next runs (New York)", "last runs", ""].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, templates.map((t, i) => {
        const toggle = h("input", { type: "checkbox", checked: t.template.enabled, disabled: !can("admin"), "aria-label": `enable ${t.template.name}` });
        toggle.addEventListener("change", async () => {
          try {
            await post(`/templates/${t.template_id}/${toggle.checked ? "enable" : "disable"}`);
            notice.textContent = `Template ${t.template.name} ${toggle.checked ? "enabled" : "disabled"}`;
          } catch (error) {
            notice.textContent = error.message;
          }
          await refresh();
        });
        const s = t.template.schedule;
        return h("tr", { "data-template": String(t.template_id) },
          h("td", {}, t.template_id), h("td", {}, t.template.name), h("td", {}, toggle),
          h("td", {}, `${s.kind}${s.weekdays ? ` ${s.weekdays.join(",")}` : ""}${s.at ? ` ${s.at.slice(0, 5)}` : ""}`),
          h("td", {}, t.next_runs.map((r) => NEW_YORK.format(new Date(r))).join("; ")),
          h("td", {}, runs[i].length ? runs[i].map((r) => `${r.status}${r.reason ? ` (${r.reason})` : ""}`).join("; ") : "none yet"),
          h("td", {}, can("admin") ? [h("button", { type: "button", onclick: () => edit(t) }, "Edit"),
            h("button", { type: "button", onclick: async () => { if (await confirmDialog(`Delete template ${t.template.name}?`)) { await api("DELETE", `/templates/${t.template_id}`); await refresh(); } } }, "Delete")] : ""));
      })))) : h("p", {}, "No templates yet."));
  }

  (async () => {
    catalogue = await get("/strategies");
    await refresh();
  })();
}
