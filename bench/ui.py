"""The web UI in headless Chromium against a paper node holding 50 open groups: how fast the tracker shows
a WebSocket snapshot, and how fast the strategy selector shows a preview after an input change.

``run_live.py`` (paper) replays a freshly generated small catalog with the order desk, the queue drainer and
:class:`bench.book_load.BookLoad` (50 open groups). Debian's Chromium (``/usr/bin/chromium``, driven by
Playwright) opens the UI as a viewer. A script added before the page loads keeps the page's WebSocket and
notes when each message arrives; the bench then asks for snapshots over it (``{"type": "snapshot"}``, one
at a time) and a MutationObserver notes when the tracker's table was rebuilt from each. For the preview it
changes the selector's units input (an iron condor chosen) and waits for the preview to be redrawn.

Keys (``quick``: fewer samples):
  ui_groups                       open groups the tracker shows
  ui_ws_to_dom_p50_ms / _p99_ms   from the server sending a snapshot (its ``ts``) to the tracker's table
                                  rebuilt (goal p99 < 100 ms with 50 open groups)
  ui_ws_render_p99_ms             from the message's arrival in the browser to the rebuilt table
  ui_preview_p50_ms / _p99_ms     from an input change to the preview redrawn with the answer of
                                  ``POST /analysis/preview`` (goal p99 < 150 ms)
  ui_samples                      samples of each kind
"""

from __future__ import annotations

import statistics

from playwright.sync_api import sync_playwright

from bench.live_book import BOOK_LOAD, _wait_listed, bench_node
from tests.support.live import VIEWER

GROUPS = 50
SAMPLES = {False: 200, True: 30}
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SPEED = 60
# Before the page's own scripts: keep the socket and stamp each message's arrival (performance clock, ms).
KEEP_SOCKET = """
(() => {
  const Native = window.WebSocket;
  window.__arrivals = [];
  window.WebSocket = function (url, protocols) {
    const socket = new Native(url, protocols);
    window.__socket = socket;
    socket.addEventListener("message", (event) => {
      const m = JSON.parse(event.data);
      window.__arrivals.push({type: m.type, ts: m.ts, at: performance.timeOrigin + performance.now()});
    });
    return socket;
  };
  window.WebSocket.prototype = Native.prototype;
})();
"""
# One snapshot asked for, then the server's send time, the arrival and the table's rebuild (epoch ms).
SNAPSHOT_TO_DOM = """
async () => {
  const table = document.querySelector("[data-testid=groups]");
  const before = table.dataset.seq;
  const seen = window.__arrivals.length;
  const rebuilt = new Promise((resolve) => {
    const watch = new MutationObserver(() => {
      if (table.dataset.seq !== before) { watch.disconnect(); resolve(performance.timeOrigin + performance.now()); }
    });
    watch.observe(table, {attributes: true, attributeFilter: ["data-seq"]});
  });
  window.__socket.send(JSON.stringify({type: "snapshot"}));
  const at = await rebuilt;
  const message = window.__arrivals.slice(seen).find((m) => m.type === "snapshot");
  return {sent: Number(BigInt(message.ts) / 1000n) / 1000, arrived: message.at, rebuilt: at};
}
"""
# One units change in the selector, then how long until the preview was redrawn (ms).
PREVIEW = """
async (units) => {
  const preview = document.querySelector("[data-testid=preview]");
  const before = preview.dataset.seq;
  const input = document.querySelector("input[name=units]");
  const done = new Promise((resolve) => {
    const watch = new MutationObserver(() => {
      if (preview.dataset.seq !== before) { watch.disconnect(); resolve(performance.now()); }
    });
    watch.observe(preview, {attributes: true, attributeFilter: ["data-seq"]});
  });
  const t0 = performance.now();
  input.value = String(units);
  input.dispatchEvent(new Event("change"));
  return (await done) - t0;
}
"""


def run(quick: bool = False) -> dict:
    samples = SAMPLES[quick]
    load = BOOK_LOAD.format(groups=GROUPS, orders_per_group=2)
    with bench_node("ui", load, speed=SPEED) as node:  # previews are measured, not limited (bench_node)
        with node.client(VIEWER) as client:
            _wait_listed(client, GROUPS)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.add_init_script(KEEP_SOCKET)
            page.goto(node.url + "/")
            page.fill("#token", VIEWER)
            page.click("#login button[type=submit]")
            page.wait_for_selector("#nav:not([hidden])")
            page.goto(node.url + "/#/positions")
            page.wait_for_function(f"document.querySelectorAll('tr[data-group]').length >= {GROUPS}")
            shown = page.eval_on_selector_all("tr[data-group].status-open", "rows => rows.length")
            ws = [page.evaluate(SNAPSHOT_TO_DOM) for _ in range(samples)]
            page.goto(node.url + "/#/strategies/iron_condor")
            page.wait_for_selector("[data-testid=preview][data-seq]")
            previews = [page.evaluate(PREVIEW, 1 + i % 5) for i in range(samples)]
            browser.close()
    to_dom = [s["rebuilt"] - s["sent"] for s in ws]
    render = [s["rebuilt"] - s["arrived"] for s in ws]
    return {
        "ui_groups": shown,
        "ui_ws_to_dom_p50_ms": round(statistics.median(to_dom), 2),
        "ui_ws_to_dom_p99_ms": round(_p99(to_dom), 2),
        "ui_ws_render_p99_ms": round(_p99(render), 2),
        "ui_preview_p50_ms": round(statistics.median(previews), 2),
        "ui_preview_p99_ms": round(_p99(previews), 2),
        "ui_samples": samples,
    }


def _p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98]
