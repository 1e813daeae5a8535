"""Fixtures of the browser tests: one paper node (``run_live.py`` over the session's small catalog, with the bot
manager) with a backtest report folder to show, headless Debian Chromium through Playwright, and pages that fail their test on any console
error. Screenshots of each page at 1280x800 and 390x844 go to ``$HYBRID_UI_ARTEFACTS`` or a pytest temporary
folder (``ui-screenshots*`` under pytest's basetemp)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from bench.ui import CHROMIUM as BENCH_CHROMIUM
from bench.ui import CHROMIUM_ARGS
from tests.support.live import BOT, RISK_GATE, Node, paper_node, write_config

CHROMIUM = Path(BENCH_CHROMIUM)  # Debian's chromium, started as the UI bench starts it
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
TIMEOUT_MS = 30_000
REPORT = "demo-20240102T000000Z"
ARTEFACTS_ENV = "HYBRID_UI_ARTEFACTS"


def write_report(root: Path) -> None:
    """A report folder in run_backtest.py's layout (docs/backtest.md) with two groups, a curve and one action."""
    folder = root / REPORT
    folder.mkdir(parents=True)
    groups = [
        {"group_id": "G-1", "structure": "iron_condor", "source": "autonomous", "status": "closed", "opened_units": 2,
         "units": 0, "entry_premium": -1.2, "exit_premium": 0.4, "commissions": 5.2, "pnl": 154.8, "balanced": True},
        {"group_id": "G-2", "structure": "butterfly_call", "source": "autonomous", "status": "open", "opened_units": 1,
         "units": 1, "entry_premium": 0.9, "exit_premium": None, "commissions": 2.6, "pnl": -40.1, "balanced": True},
    ]  # fmt: skip
    summary = {
        "name": "demo", "config_file": "configs/demo.toml", "start": "2024-01-02T14:30:00+00:00",
        "end": "2024-01-05T21:00:00+00:00", "seed": 7, "counts": {"groups": 2}, "all_groups_balanced": True,
        "statistics": {"pnl": {"total": 114.7}, "groups": {"count": 2, "win_rate": 1.0}, "equity": {"max_drawdown": -60.0, "sharpe": 1.2}},
        "groups": groups,
    }  # fmt: skip
    (folder / "summary.json").write_text(json.dumps(summary))
    (folder / "equity.csv").write_text("ts_ns,equity\n1704205800000000000,100000.0\n1704488400000000000,100114.7\n")
    (folder / "fill_rates.csv").write_text(
        "underlying,mode,part,step,leg,attempts,fills,fill_rate\nSPY,combo,1,0,combo,4,3,0.75\n"
    )
    (folder / "actions.csv").write_text(
        "at,component,id,action,group_id,template_id,reason,details\n2024-01-03T15:00:00+00:00,BotManager,1,take_profit,G-1,,tranche 1,{}\n"
    )


@pytest.fixture(scope="module")
def node(small_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    work = tmp_path_factory.mktemp("ui-node")
    write_report(work / "reports")
    os.environ["HYBRID_REPORTS_DIR"] = str(work / "reports")  # run_live.py inherits the environment
    try:
        config = write_config(work, small_catalog)
        config.write_text(config.read_text() + RISK_GATE + BOT)
        with paper_node(config, work / "state.sqlite", work / "node") as running:
            yield running
    finally:
        os.environ.pop("HYBRID_REPORTS_DIR", None)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Module-scoped: Playwright's sync API keeps an asyncio loop marked running in this thread until it stops,
    and tests after these (a live node driven with run_until_complete) must not find it."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``$HYBRID_UI_ARTEFACTS`` when set (CI keeps it), else a pytest temporary folder."""
    wanted = os.environ.get(ARTEFACTS_ENV)
    if not wanted:
        return tmp_path_factory.mktemp("ui-screenshots")
    folder = Path(wanted)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class UI:
    """One browser page on the node's UI; collects console errors and uncaught exceptions."""

    def __init__(self, page: Page, url: str, screenshots: Path) -> None:
        self.page = page
        self.url = url
        self.screenshots = screenshots
        self.errors: list[str] = []
        self.allowed_statuses: set[int] = set()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        text = message.text
        # The API's refusals the test provokes on purpose (a 422 shown next to a field) are logged by Chromium
        # as failed resource loads; every other console error fails the test.
        if any(f"status of {code} " in text for code in self.allowed_statuses):
            return
        self.errors.append(f"{text} ({message.location.get('url', '')})")

    def login(self, token: str) -> None:
        self.page.goto(self.url + "/")
        self.page.get_by_label("API token").fill(token)
        self.page.get_by_role("button", name="Log in").click()
        self.page.wait_for_selector("#nav:not([hidden])")

    def go(self, page: str) -> None:
        self.page.goto(f"{self.url}/#/{page}")
        self.page.wait_for_selector(f"#page-{page.split('/')[0]}")

    def shoot(self, name: str) -> None:
        """The page at both sizes, full length, then back to the desktop size; the page must fit each width."""
        for size, viewport in SIZES.items():
            self.page.set_viewport_size(viewport)
            self.page.wait_for_timeout(300)  # Plotly's responsive relayout
            self.page.screenshot(path=str(self.screenshots / f"{name}-{size}.png"), full_page=True)
            wide = self.page.evaluate("document.documentElement.scrollWidth")
            assert wide <= viewport["width"], (
                f"{name} is {wide} px wide at {size} size: something does not wrap or scroll"
            )
        self.page.set_viewport_size(SIZES["desktop"])


@pytest.fixture
def ui(browser: Browser, node: Node, screenshots: Path) -> Iterator[UI]:
    context = browser.new_context(viewport=SIZES["desktop"])
    page = context.new_page()
    opened = UI(page, node.url, screenshots)
    yield opened
    context.close()
    assert opened.errors == [], f"console errors: {opened.errors}"
