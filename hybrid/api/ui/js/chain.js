// The live chain, read through /chain: underlyings, expiries with DTE, listed strikes, quotes.
import { get } from "./api.js";

export async function underlyings() {
  return (await get("/chain")).map((u) => u.underlying);
}

// The underlyings once the node quotes one: a node just started has no chain yet, so ask again every 2 s
// (calling waiting() each time) for as long as alive() says the page is open.
export async function quotedUnderlyings(waiting, alive) {
  for (;;) {
    const names = await underlyings();
    if (names.length || !alive()) return names;
    waiting();
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

export async function expiries(underlying) {
  return get(`/chain/${underlying}/expiries`);
}

// Listed strikes of one expiry and right that have a two-sided quote now (what a preview can price).
export async function strikes(underlying, expiry, right = "call") {
  const q = await get(`/chain/${underlying}/quotes?expiry=${expiry}&right=${right}`);
  return q.quotes.filter((x) => x.mid !== null).map((x) => x.strike).sort((a, b) => a - b);
}

export async function quotes(underlying, expiry) {
  return get(`/chain/${underlying}/quotes?expiry=${expiry}`);
}

// Index of the listed strike nearest the spot.
export function atmIndex(strikeList, spot) {
  let best = 0;
  strikeList.forEach((k, i) => {
    if (Math.abs(k - spot) < Math.abs(strikeList[best] - spot)) best = i;
  });
  return best;
}

export const expiryLabel = (e) => `${e.expiry} (${e.dte} DTE)`;
