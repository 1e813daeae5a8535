// The execution part of an order form: market, limit (defaulting to mid) or the two-part algorithm.
import { ApiError, get } from "./api.js";
import { field, h, select } from "./dom.js";

export function executionForm(onChange, { allowMarket = true } = {}) {
  const type = select([...(allowMarket ? [["market", "market"]] : []), ["limit", "limit"], ["two_part", "two-part"]], allowMarket ? "market" : "limit",
    { name: "execution", "data-loc": "execution.type" });
  const price = h("input", { type: "number", step: "0.01", name: "limit_price", "data-loc": "execution.price" });
  const mode = select([["", "configured"], ["combo", "combo"], ["legging", "legging"]], "", { name: "two_part_mode", "data-loc": "execution.mode" });
  const fraction = h("input", { type: "number", step: "0.05", min: "0.05", max: "0.95", placeholder: "0.35", name: "first_fraction", "data-loc": "execution.first_fraction" });
  const deadline = h("input", { type: "number", step: "1", min: "1", placeholder: "configured", name: "deadline_seconds", "data-loc": "execution.deadline_seconds" });
  let touched = false;
  price.addEventListener("input", () => { touched = true; });
  const twoPart = h("div", { class: "row" }, field("Two-part mode", mode), field("First part fraction", fraction), field("Deadline (s)", deadline));
  const priceField = field("Limit (per share, + debit)", price, "defaults to mid");
  const el = h("fieldset", { class: "execution" }, h("legend", {}, "Execution"), h("div", { class: "row" }, field("Type", type), priceField), twoPart);
  const sync = () => {
    priceField.hidden = type.value === "market";
    twoPart.hidden = type.value !== "two_part";
  };
  for (const input of [type, price, mode, fraction, deadline]) input.addEventListener("change", () => { sync(); onChange(); });
  sync();
  return {
    el,
    value() {
      const p = price.value === "" ? null : Number(price.value);
      if (type.value === "market" || (type.value === "limit" && p === null)) return { type: "market" };
      if (type.value === "limit") return { type: "limit", price: p };
      const out = { type: "two_part" };
      if (p !== null) out.limit_price = p;
      if (mode.value) out.mode = mode.value;
      if (fraction.value) out.first_fraction = Number(fraction.value);
      if (deadline.value) out.deadline_seconds = Number(deadline.value);
      return out;
    },
    type: () => type.value,
    // The structure's mid per share: the limit price until the person types one.
    setMid(mid) {
      if (!touched) price.value = mid.toFixed(2);
    },
  };
}

// Follow one queue order's status live: calls render(status, reason) for each of its changes, newest journal
// entry last. The pushes that came before the caller subscribed (an order that fills at once is filled before
// the page reads the answer to its POST) are read from the order's history, and again whenever a snapshot
// shows the order in another status than the one rendered (a push lost while the feed reconnected).
export function followOrder(feed, orderId, render) {
  let seen = -1; // the newest journal entry rendered
  let shown = null;
  let reading = false;
  let following = true;
  const show = (change) => {
    if (!following || change.order_id !== orderId || change.event_id <= seen) return;
    seen = change.event_id;
    shown = change.status;
    render(change.status, change.reason);
  };
  const catchUp = async () => {
    if (reading) return;
    reading = true;
    try {
      (await get(`/orders/${orderId}/history`)).forEach(show);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error; // a 503 while the queue recovers: the next snapshot retries
    } finally {
      reading = false;
    }
  };
  const stops = [
    feed.on("order", show),
    feed.on("snapshot", (snapshot) => {
      const order = snapshot.orders.find((o) => o.order_id === orderId);
      if (order && order.status !== shown) catchUp();
    }),
  ];
  catchUp();
  return () => {
    following = false;
    stops.forEach((stop) => stop());
  };
}
