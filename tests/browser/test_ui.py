"""The web UI in headless Chromium against a paper node on 127.0.0.1 (docs/ui.md): the issue's acceptance list.
Each test fails on any console error (see conftest); each page's screenshot is written at both sizes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, Route, expect

from tests.browser.conftest import REPORT, UI
from tests.support.live import ADMIN, TRADER, VIEWER, auth, eventually, order_status

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LIVE = 30_000  # ms: the longest a live update (fill, snapshot) may take to show
ORDERS = "**/api/v1/orders"  # the order submission route (not /orders/{id}/...)


def confirm(ui: UI) -> None:
    dialog = ui.page.locator("#confirm")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Confirm").click()


def test_iron_condor_preview_submit_track_then_close_part_and_the_rest(ui: UI) -> None:
    ui.login(TRADER)
    page = ui.page
    page.get_by_label("Search strategies").fill("condor")
    page.locator("[data-strategy=iron_condor]").click()
    expect(page.get_by_test_id("strategy-name")).to_have_text("Iron Condor")
    expect(page.get_by_test_id("max-loss")).to_contain_text("$")
    expect(page.get_by_test_id("legs").locator("tbody tr")).to_have_count(4)
    expect(page.get_by_test_id("payoff-chart").locator(".main-svg").first).to_be_visible()
    seq = page.get_by_test_id("preview").get_attribute("data-seq")
    page.get_by_label("Units").fill("2")
    page.get_by_label("Units").dispatch_event("change")
    expect(page.get_by_test_id("preview")).not_to_have_attribute("data-seq", seq or "")  # a new preview came
    ui.shoot("strategies")
    page.get_by_test_id("submit").click()
    confirm(ui)
    order_id = page.get_by_test_id("order-id").inner_text()
    expect(page.get_by_test_id("submitted-status")).to_have_text(re.compile(r"^filled"), timeout=LIVE)

    ui.go("positions")
    row = page.locator("tr[data-group]", has=page.locator("td", has_text=re.compile("open")))
    expect(row).to_have_count(1, timeout=LIVE)
    expect(row.locator("[data-field=units]")).to_have_text("2")
    expect(row.locator("[data-field=pnl]")).to_contain_text("$")
    groups = page.get_by_test_id("groups")
    seq = groups.get_attribute("data-seq")
    expect(groups).not_to_have_attribute("data-seq", seq or "", timeout=LIVE)  # redrawn by the next snapshot
    expect(page.locator(f"tr[data-order^='{order_id[:12]}'] [data-field=status]")).to_have_text("filled")
    history = page.get_by_test_id("pnl-history")
    expect(history).to_have_attribute("data-lineages", re.compile(r"^[1-9]"), timeout=LIVE)  # sampled on the fill
    recorded = int(history.get_attribute("data-points") or 0)
    assert recorded >= 1
    ui.shoot("positions")
    page.reload()  # the history is the node's: a fresh page draws it again
    ui.go("positions")
    expect(history).to_have_attribute("data-points", re.compile(r"^\d+$"))
    assert int(history.get_attribute("data-points") or 0) >= recorded
    expect(history.locator(".main-svg").first).to_be_visible()

    row.get_by_label(re.compile("units of .* to close")).fill("1")
    row.locator("[data-action=close-part]").click()
    confirm(ui)
    expect(row.locator("[data-field=units]")).to_have_text("1", timeout=LIVE)
    row.locator("[data-action=close]").click()
    confirm(ui)
    expect(page.locator("tr[data-group].status-closed")).to_have_count(1, timeout=LIVE)
    expect(page.locator("tr[data-group].status-open")).to_have_count(0)


def answer_after_the_fill(ui: UI) -> None:
    """Hold the answer to the next ``POST /orders`` until the node has filled that order, so that every status
    change is pushed before the page reads the answer: what a loaded browser meets when the order fills at
    once (a condor whose spread the node quotes already, as after the previous test's)."""

    def held(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        answer = route.fetch()
        order_id = answer.json()["order_id"]
        with httpx.Client(base_url=ui.url + "/api/v1", headers=auth(VIEWER), timeout=10.0) as viewer:
            eventually(lambda: order_status(viewer, order_id) == "filled", f"order {order_id} filled", LIVE / 1000)
        route.fulfill(response=answer)
        ui.page.unroute(ORDERS, held)

    ui.page.route(ORDERS, held)


def submit_iron_condor(ui: UI) -> None:
    page = ui.page
    page.locator("[data-strategy=iron_condor]").click()
    expect(page.get_by_test_id("max-loss")).to_contain_text("$")
    answer_after_the_fill(ui)
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


def strike_line(ui: UI, leg: int) -> dict:
    """Where Plotly draws the builder's strike line of option leg ``leg`` (page coordinates, mid-height)."""
    return ui.page.evaluate(
        """(leg) => { const gd = document.querySelector('[data-testid=builder-chart]'); const L = gd._fullLayout;
                   const box = gd.getBoundingClientRect(); const k = Number(gd.dataset.strikes.split(',')[leg]);
                   return {x: box.left + L._size.l + L.xaxis.l2p(k), y: box.top + L._size.t + L._size.h / 2}; }""",
        leg,
    )


def builder_with_a_call(ui: UI) -> Locator:
    """A trader's builder with one bought call drawn; its chart."""
    ui.login(TRADER)
    ui.go("builder")
    chart = ui.page.get_by_test_id("builder-chart")
    ui.page.locator("[data-action=add-call]").click()
    expect(chart).to_have_attribute("data-strikes", re.compile(r"^[\d.]+$"))
    return chart


def test_builder_drag_a_strike_then_save_and_load_after_a_reload(ui: UI) -> None:
    chart = builder_with_a_call(ui)
    page = ui.page
    page.locator("[data-action=add-call]").click()
    expect(chart).to_have_attribute("data-strikes", re.compile(r"^[\d.]+,[\d.]+$"))
    page.locator("[data-leg='1'] [data-field=side]").select_option("-1")
    expect(page.get_by_test_id("recognised")).to_contain_text("Spread")
    table_before = page.get_by_test_id("pnl-table").inner_text()
    strikes_before = chart.get_attribute("data-strikes")
    # drag the first (lower) strike line 60 px to the left, away from the other leg's strike
    at = strike_line(ui, 0)
    page.mouse.move(at["x"], at["y"])
    page.mouse.down()
    page.mouse.move(at["x"] - 60, at["y"], steps=8)
    page.mouse.up()
    expect(chart).not_to_have_attribute("data-strikes", strikes_before or "")
    expect(page.get_by_test_id("pnl-table")).not_to_have_text(table_before)
    page.get_by_label("IV shift (vol points)").fill("10")
    strikes = chart.get_attribute("data-strikes")
    page.get_by_label("Name").fill("dragged spread")
    page.locator("[data-action=save]").click()
    expect(page.locator("[data-template='dragged spread']")).to_be_visible()
    ui.shoot("builder")

    page.reload()  # the token stays in session storage: no new login
    ui.go("builder")
    page.locator("[data-template='dragged spread'] [data-action=load]").click()
    expect(chart).to_have_attribute("data-strikes", strikes or "")
    expect(page.get_by_test_id("builder-legs").locator("tr")).to_have_count(2)

    # shift-drag the second strike to the left: every strike moves
    at = strike_line(ui, 1)
    page.keyboard.down("Shift")
    page.mouse.move(at["x"], at["y"])
    page.mouse.down()
    page.mouse.move(at["x"] - 60, at["y"], steps=8)
    page.mouse.up()
    page.keyboard.up("Shift")
    expect(chart).not_to_have_attribute("data-strikes", strikes or "")
    moved = (chart.get_attribute("data-strikes") or "").split(",")
    assert all(new != old for new, old in zip(moved, (strikes or "").split(","), strict=True)), (strikes, moved)

    # a put and a stock leg added, then removed again
    page.locator("[data-action=add-put]").click()
    page.locator("[data-action=add-stock]").click()
    expect(page.get_by_test_id("builder-legs").locator("tr")).to_have_count(4)
    page.locator("[data-leg='3'] [data-action=remove-leg]").click()
    page.locator("[data-leg='2'] [data-action=remove-leg]").click()
    expect(page.get_by_test_id("builder-legs").locator("tr")).to_have_count(2)
    expect(page.get_by_test_id("recognised")).to_contain_text("Spread")

    # submitted through the two-part algorithm, with its status live
    page.get_by_test_id("builder-submit").scroll_into_view_if_needed()
    page.locator("#page-builder select[name=execution]").select_option("two_part")
    page.locator("#page-builder input[name=units]").fill("2")  # a part of each unit
    page.locator("#page-builder input[name=first_fraction]").fill("0.5")
    page.get_by_test_id("builder-submit").click()
    confirm(ui)
    expect(page.get_by_test_id("builder-submitted-status")).to_have_text(re.compile(r"\w"), timeout=LIVE)

    page.locator("[data-template='dragged spread'] [data-action=delete]").click()
    confirm(ui)
    expect(page.locator("[data-template='dragged spread']")).to_have_count(0)


def test_recurring_template_invalid_field_then_valid_and_a_backtest_report(ui: UI) -> None:
    ui.allowed_statuses = {422}  # the invalid template, refused by the API on purpose
    ui.login(ADMIN)
    ui.go("recurring")
    page = ui.page
    form = page.get_by_test_id("recurring-form")
    form.get_by_label("Name", exact=True).fill("weekly condor")
    form.get_by_label("At (New York)").fill("17:30")  # after the close
    page.get_by_test_id("recurring-save").click()
    at_error = form.locator(f"[data-error-for='{form.get_by_label('At (New York)').get_attribute('id')}']")
    expect(at_error).to_contain_text("09:30")
    form.get_by_label("At (New York)").fill("10:00")
    page.get_by_test_id("recurring-save").click()
    expect(page.get_by_test_id("recurring-message")).to_contain_text("Saved template")
    expect(at_error).to_be_empty()
    expect(page.get_by_test_id("recurring-list").locator("tr[data-template]")).to_have_count(1)
    expect(page.get_by_test_id("recurring-list")).to_contain_text("Mon")  # next runs, in New York time
    page.get_by_label("enable weekly condor").uncheck()
    expect(page.get_by_test_id("recurring-message")).to_contain_text("disabled")
    expect(page.get_by_label("enable weekly condor")).not_to_be_checked()
    ui.shoot("recurring")

    ui.go("reports")
    expect(page.get_by_test_id("report-list").locator("tbody tr")).to_have_count(1)
    ui.shoot("reports-list")
    page.locator(f"[data-report='{REPORT}']").click()
    expect(page.get_by_test_id("report-name")).to_have_text(REPORT)
    expect(page.get_by_test_id("report-groups").locator("tbody tr")).to_have_count(2)
    expect(page.get_by_test_id("equity-chart").locator(".main-svg").first).to_be_visible()
    expect(page.get_by_test_id("report-fill-rates")).to_contain_text("0.75")
    expect(page.get_by_test_id("report-actions")).to_contain_text("take_profit")
    ui.shoot("reports")

    ui.go("health")
    expect(page.get_by_test_id("trading-state")).to_have_text("ACTIVE")
    ui.shoot("health")


def test_health_shows_mode_feed_trading_state_and_limits_and_an_admin_resets_with_confirmation(ui: UI) -> None:
    ui.allowed_statuses = {409}  # the reset with no breaker tripped, answered by the API on purpose
    ui.login(ADMIN)
    ui.go("health")
    page = ui.page
    expect(page.get_by_test_id("node-mode")).to_have_text("paper")
    expect(page.get_by_test_id("feed-state").first).to_contain_text(re.compile("streaming|stale"))
    expect(page.get_by_test_id("trading-state")).to_have_text("ACTIVE")
    expect(page.get_by_test_id("limit-rows").locator("tbody tr")).to_have_count(5)
    expect(page.get_by_test_id("limit-rows")).to_contain_text("max_open_groups")
    page.get_by_test_id("reset-breaker").click()
    expect(page.locator("#confirm")).to_contain_text("No breaker is tripped now.")
    confirm(ui)
    expect(page.get_by_test_id("reset-message")).to_contain_text("no circuit breaker is tripped")
    ui.shoot("health-admin")


def test_a_viewer_sees_no_trading_controls_and_a_direct_call_is_refused(ui: UI) -> None:
    ui.allowed_statuses = {403}  # the direct call below
    ui.login(VIEWER)
    page = ui.page
    page.locator("[data-strategy=iron_condor]").click()
    expect(page.get_by_test_id("max-loss")).to_contain_text("$")
    expect(page.get_by_test_id("submit")).to_have_count(0)
    ui.go("positions")
    expect(page.get_by_test_id("portfolio")).to_contain_text("Total P&L")
    expect(page.get_by_test_id("close-all")).to_have_count(0)
    expect(page.locator("[data-action=close], [data-action=cancel]")).to_have_count(0)
    ui.go("builder")
    expect(page.locator("[data-action=save], [data-testid=builder-submit]")).to_have_count(0)
    status = page.evaluate(
        """async () => (await fetch('/api/v1/groups/close-all', {method: 'POST',
              headers: {Authorization: `Bearer ${sessionStorage.getItem('hybrid.token')}`, 'Content-Type': 'application/json'},
              body: JSON.stringify({execution: {type: 'market'}})})).status"""
    )
    assert status == 403
    ui.shoot("viewer-positions")
    ui.go("health")
    expect(page.get_by_test_id("trading-state")).to_have_text("ACTIVE")
    expect(page.get_by_test_id("reset-breaker")).to_have_count(0)
    ui.shoot("viewer-health")
