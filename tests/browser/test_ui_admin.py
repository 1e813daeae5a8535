"""The web UI's admin controls of the bot in headless Chromium against a paper node of its own (docs/ui.md):
pause, resume, own rules and the next action they give, exports, close all. Its own module, so its own node:
after the iron condor test's closes on the shared node, its opening order stayed queued past the wait."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import UI
from tests.browser.test_ui import LIVE, confirm
from tests.support.live import ADMIN

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def submit_iron_condor(ui: UI) -> None:
    page = ui.page
    page.locator("[data-strategy=iron_condor]").click()
    expect(page.get_by_test_id("max-loss")).to_contain_text("$")
    page.get_by_test_id("submit").click()
    confirm(ui)
    expect(page.get_by_test_id("submitted-status")).to_have_text(re.compile(r"^filled"), timeout=LIVE)


def test_admin_pauses_resumes_and_sets_rules_of_the_bot_then_closes_all(ui: UI) -> None:
    ui.login(ADMIN)
    submit_iron_condor(ui)
    ui.go("positions")
    page = ui.page
    row = page.locator("tr[data-group].status-open").first
    row.locator("[data-action=pause]").click()  # registers the group with the bot if it has not yet
    confirm(ui)
    expect(row.locator("[data-field=next]")).to_contain_text("paused", timeout=LIVE)
    row.locator("[data-action=resume]").click()
    confirm(ui)
    nxt = row.locator("[data-field=next]")
    expect(nxt).to_contain_text("take 100% of the units at +100000%", timeout=LIVE)  # the bot's rules (conftest)
    expect(nxt).to_contain_text("roll below 1 DTE")
    row.locator("[data-action=rules]").click()
    page.locator("#rules-json").fill('{"stop_loss_pct": -150, "profit_tranches": [{"at_pct": 90000, "fraction": 1}]}')
    confirm(ui)
    expect(nxt).to_contain_text("at +90000%", timeout=LIVE)
    expect(nxt).to_contain_text("stop at -150%")
    expect(page.get_by_test_id("actions")).to_contain_text("set_rules", timeout=LIVE)
    group_id = row.get_attribute("data-group") or ""
    with page.expect_download() as csv:
        page.get_by_role("button", name="Export CSV").click()
    lines = Path(csv.value.path()).read_text().splitlines()
    assert lines[0].startswith("group_id,") and any(line.startswith(f'"{group_id}",') for line in lines[1:])
    with page.expect_download() as exported:
        page.get_by_role("button", name="Export JSON").click()
    assert group_id in {g["group_id"] for g in json.loads(Path(exported.value.path()).read_text())}
    page.get_by_test_id("close-all").click()
    confirm(ui)
    expect(page.locator("tr[data-group].status-open")).to_have_count(0, timeout=LIVE)
