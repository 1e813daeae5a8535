// Option maths for what the browser draws between server round trips: Black-Scholes with carry (the
// server's model, docs in README "Sign conventions"), catalogue rule checks and strike placement.
const SQRT2 = Math.SQRT2;

function erf(x) {
  // Abramowitz-Stegun 7.1.26, |error| < 1.5e-7: enough for a chart.
  const sign = x < 0 ? -1 : 1;
  x = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * x);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return sign * y;
}
const cdf = (x) => 0.5 * (1 + erf(x / SQRT2));

export function bs(kind, spot, strike, years, vol, rate, dividend) {
  const intrinsic = kind === "call" ? Math.max(spot - strike, 0) : Math.max(strike - spot, 0);
  if (years <= 0 || vol <= 0) return intrinsic;
  const sd = vol * Math.sqrt(years);
  const d1 = (Math.log(spot / strike) + (rate - dividend + 0.5 * vol * vol) * years) / sd;
  const d2 = d1 - sd;
  const df = Math.exp(-rate * years);
  const carry = Math.exp(-dividend * years);
  return kind === "call" ? spot * carry * cdf(d1) - strike * df * cdf(d2) : strike * df * cdf(-d2) - spot * carry * cdf(-d1);
}

// Years from `at` (a Date) to an expiry date string's close (16:00 New York, taken as 21:00 UTC).
export function yearsTo(expiry, at) {
  const close = Date.parse(`${expiry}T21:00:00Z`);
  return Math.max(0, (close - at.getTime()) / (365 * 86400e3));
}

// P&L in dollars of one unit of priced legs ({kind, strike, expiry, quantity, price, iv}) at `spot` on date `at`.
export function pnlAt(legs, spot, at, { vol, rate, dividend, multiplier, ivShift = 0 }) {
  let total = 0;
  for (const leg of legs) {
    if (leg.kind === "underlying") {
      total += leg.quantity * (spot - leg.price);
      continue;
    }
    const sigma = Math.max(0.01, (leg.iv ?? vol) + ivShift);
    const value = bs(leg.kind, spot, leg.strike, yearsTo(leg.expiry, at), sigma, rate, dividend);
    total += leg.quantity * (value - leg.price) * multiplier;
  }
  return total;
}

// --- catalogue rules, e.g. "long_put_strike < short_put_strike <= short_call_strike < long_call_strike" ---
function tokens(text) {
  return text.match(/\d+(?:\.\d+)?|[A-Za-z_]\w*|<=|>=|==|!=|[<>+\-*/()]/g) || [];
}

// Evaluates a rule over `values` (name -> number); true when it holds (unknown names: true).
export function ruleHolds(text, values) {
  const ts = tokens(text);
  let i = 0;
  let unknown = false;
  const peek = () => ts[i];
  function atom() {
    const t = ts[i++];
    if (t === "(") { const v = sum(); i++; return v; }
    if (t === "-") return -atom();
    if (/^\d/.test(t)) return Number(t);
    if (!(t in values)) unknown = true;
    return values[t] ?? 0;
  }
  function product() {
    let v = atom();
    while (peek() === "*" || peek() === "/") v = ts[i++] === "*" ? v * atom() : v / atom();
    return v;
  }
  function sum() {
    let v = product();
    while (peek() === "+" || peek() === "-") v = ts[i++] === "+" ? v + product() : v - product();
    return v;
  }
  let left = sum();
  let ok = true;
  while (["<", "<=", ">", ">=", "==", "!="].includes(peek())) {
    const op = ts[i++];
    const right = sum();
    const eps = 1e-9;
    ok = ok && { "<": left < right - eps, "<=": left <= right + eps, ">": left > right + eps, ">=": left >= right - eps,
      "==": Math.abs(left - right) < eps, "!=": Math.abs(left - right) >= eps }[op];
    left = right;
  }
  return unknown || ok;
}

// Strike parameters in ascending order, read from the first rule that orders them (else as given).
export function ascendingStrikes(strategy) {
  const names = strategy.strikes;
  for (const rule of strategy.rules) {
    const ts = tokens(rule);
    const named = ts.filter((t) => names.includes(t));
    if (named.length === names.length && ts.every((t) => names.includes(t) || ["<", "<=", ">", ">="].includes(t))) {
      return ts.includes(">") || ts.includes(">=") ? [...named].reverse() : named;
    }
  }
  return [...names];
}

// Values for the strike parameters: from the listed `strikes` (ascending), centred at index `centre`,
// with gaps of `width` listed steps (tried 1x to 3x per gap until every rule holds); null if none fits.
export function placeStrikes(strategy, strikes, centre, width = 1) {
  const order = ascendingStrikes(strategy);
  const n = order.length;
  const gapsList = [];
  const walk = (prefix) => {
    if (prefix.length === n - 1) { gapsList.push(prefix); return; }
    for (const g of [0, 1, 2, 3]) walk([...prefix, g]);
  };
  walk([]);
  gapsList.sort((a, b) => a.reduce((s, x) => s + Math.abs(x - 1), 0) - b.reduce((s, x) => s + Math.abs(x - 1), 0));
  for (const gaps of gapsList) {
    const span = gaps.reduce((s, g) => s + g * width, 0);
    let index = Math.round(centre - span / 2);
    const picks = [index];
    for (const g of gaps) picks.push((index += g * width));
    if (picks[0] < 0 || picks[n - 1] >= strikes.length) continue;
    const values = Object.fromEntries(order.map((name, k) => [name, strikes[picks[k]]]));
    if (strategy.rules.every((rule) => ruleHolds(rule, values))) return strategy.strikes.map((name) => values[name]);
  }
  return null;
}

// Legs of one unit from the catalogue's leg templates, e.g. "P(long_put_strike)@far_expiration+1", "U+M".
export function templateLegs(strategy, strikeValues, expiryValues, multiplier = 100) {
  const strikes = Object.fromEntries(strategy.strikes.map((n, i) => [n, strikeValues[i]]));
  const expiries = Object.fromEntries(strategy.expiries.map((n, i) => [n, expiryValues[i]]));
  return strategy.legs.map((text) => {
    const under = text.match(/^U([+-])(M|\d+)$/);
    if (under) return { kind: "underlying", strike: null, expiry: null, quantity: (under[1] === "-" ? -1 : 1) * (under[2] === "M" ? multiplier : Number(under[2])) };
    const m = text.match(/^([CP])\(([^)]*)\)(?:@(\w+))?([+-]\d+)$/);
    if (!m) return null;
    const strikeExpr = m[2];
    let strike = strikes[strikeExpr];
    if (strike === undefined) {
      const e = strikeExpr.match(/^(\w+)\s*([+-])\s*(\w+)$/);
      strike = e ? strikes[e[1]] + (e[2] === "+" ? 1 : -1) * (strikes[e[3]] ?? Number(e[3])) : NaN;
    }
    return { kind: m[1] === "C" ? "call" : "put", strike, expiry: expiries[m[3] || strategy.expiries[0]], quantity: Number(m[4]) };
  });
}

// Delta placement: the short strike parameters (those with a sold leg; all of them when none is sold) at
// the listed strike whose option's |delta| is nearest `delta` (the put's when the parameter's legs are
// puts, else the call's); the others `width` listed strikes outward from their nearest placed neighbour
// in the structure's order. `deltas(right)` maps a strike to that right's delta. Null when a rule breaks.
export function placeByDelta(strategy, strikes, deltas, delta, width = 1) {
  const order = ascendingStrikes(strategy);
  const legs = strategy.legs.map((text) => text.match(/^([CP])\((\w+)\)(?:@\w+)?([+-]\d+)$/)).filter(Boolean);
  const sold = new Set(legs.filter((m) => Number(m[3]) < 0).map((m) => m[2]));
  const anchors = order.filter((name) => (sold.size ? sold.has(name) : true));
  const index = {};
  for (const name of anchors) {
    const right = legs.every((m) => m[2] !== name || m[1] === "P") ? "put" : "call";
    const table = deltas(right);
    let best = null;
    strikes.forEach((k, i) => {
      const d = table.get(k);
      if (d !== undefined && d !== null && (best === null || Math.abs(Math.abs(d) - delta) < Math.abs(Math.abs(table.get(strikes[best])) - delta))) best = i;
    });
    if (best === null) return null;
    index[name] = best;
  }
  const placed = order.map((name) => name in index);
  order.forEach((name, i) => {
    if (placed[i]) return;
    const before = placed.lastIndexOf(true, i);
    const after = placed.indexOf(true, i);
    index[name] = before >= 0 && (after < 0 || i - before <= after - i)
      ? index[order[before]] + width * (i - before)
      : index[order[after]] - width * (after - i);
  });
  if (order.some((name) => index[name] < 0 || index[name] >= strikes.length)) return null;
  const values = Object.fromEntries(order.map((name) => [name, strikes[index[name]]]));
  return strategy.rules.every((rule) => ruleHolds(rule, values)) ? strategy.strikes.map((name) => values[name]) : null;
}
