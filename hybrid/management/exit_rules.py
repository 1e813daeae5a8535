"""The bot's exit rules: graduated profit taking, a debounced stop loss, and the roll trigger.

:func:`evaluate` is pure: an Actor calls it from its handlers with the engine clock's ``now`` and acts on
the :class:`Decision` (asking the owning strategy to close or roll), then persists ``decision.state``.

Policies
- Order of precedence on one check: override (paused) > a full close already requested > stop loss >
  profit tranches > roll > nothing.
- Untrusted marks (a leg with a missing side, crossed, or too wide; see :mod:`.marks`) give ``skip``:
  they neither count towards the stop nor reset its count, and fire no profit level. A roll is decided
  by the calendar, not by marks, so a due roll is still returned.
- Stop loss: a trusted check at or beyond ``stop_loss_pct`` adds one to the count, a trusted check back
  inside resets it to 0; ``close_all`` when the count reaches ``stop_confirmations``.
- Profit levels are not debounced (the mark guard protects them); each fires once. When one check passes
  several levels they are taken together in one ``close_units``.
- Tranche sizes (see :func:`tranche_units`): the units closed after level i are
  floor(cumulative fraction x entry units), but at least 1 unit more than before while units remain; the
  last level closes everything left. So units stay whole and add up to all of them: 10 units close as
  3/5/2, 3 units as 1/1/1, 2 units as 1/1/0, and a 1-unit group closes whole at the first level.
- The caller should not evaluate a group while a close it asked for is still working.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Literal

from hybrid.calendar.exchange_time import new_york_date
from hybrid.management.management_rules import ManagementRules, ProfitTranche
from hybrid.management.rolls import days_to_expiry
from hybrid.management.state import ManagementState
from hybrid.valuation.marks import MarkedGroup, marks_untrusted, pnl_pct

DecisionKind = Literal["none", "skip", "close_units", "close_all", "roll"]
ACTION_KINDS: frozenset[str] = frozenset({"close_units", "close_all", "roll"})


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with a group now, why, and the state to persist afterwards.

    ``units`` is how many units to close (every open unit for ``close_all`` and ``roll``); ``levels``
    are the 1-based profit levels a ``close_units`` takes.
    """

    kind: DecisionKind
    reason: str
    state: ManagementState
    units: int = 0
    levels: tuple[int, ...] = ()
    pnl_pct: float | None = None

    @property
    def is_action(self) -> bool:
        """True when the bot must ask the owning strategy to trade."""
        return self.kind in ACTION_KINDS

    def details(self) -> dict:
        """The JSON details for the action log and the message bus."""
        return {"units": self.units, "levels": list(self.levels), "pnl_pct": self.pnl_pct}


def tranche_units(tranches: tuple[ProfitTranche, ...], through_level: int, entry_units: int, open_units: int) -> int:
    """Units to close when the levels up to ``through_level`` (1-based) have been reached.

    See the module policy: floor of the cumulative target, at least 1 while units remain, the last level
    takes the rest; never more than ``open_units``.
    """
    if not 1 <= through_level <= len(tranches):
        raise ValueError(f"through_level must be within 1..{len(tranches)}, got {through_level}")
    if through_level == len(tranches):
        return open_units
    cumulative = sum(t.fraction for t in tranches[:through_level])
    target_closed = math.floor(cumulative * entry_units + 1e-9)
    already_closed = entry_units - open_units
    return min(open_units, max(1, target_closed - already_closed))


def evaluate(group: MarkedGroup, state: ManagementState, rules: ManagementRules, now: dt.datetime) -> Decision:
    """Apply the group's rules (``state.rules`` when set, else ``rules``) to one group at ``now``."""
    rules = state.rules_or(rules)
    if state.paused:
        return Decision("none", "management paused by a manual override", state)
    if group.open_units == 0:
        return Decision("none", "no open units", state)
    if state.exit_requested is not None:
        return Decision("none", f"{state.exit_requested} close already requested", state)

    dte = days_to_expiry(group.legs, new_york_date(now))
    roll_due = dte if rules.roll is not None and dte is not None and dte < rules.roll.below_dte else None
    untrusted = marks_untrusted(group, rules.max_spread_ratio, rules.max_spread_abs)
    if untrusted is None and group.entry_net_premium == 0:
        untrusted = "entry net premium is 0, so a P&L % is undefined"
    if untrusted is not None:
        if roll_due is not None:
            return _roll(state, group, roll_due, None)
        return Decision("skip", f"marks not trusted: {untrusted}", state)

    pct = pnl_pct(group)
    beyond_stop = rules.stop_loss_pct is not None and pct <= rules.stop_loss_pct
    stop_count = state.stop_count + 1 if beyond_stop else 0
    if stop_count != state.stop_count:  # most checks change nothing: no copy for them
        state = state.model_copy(update={"stop_count": stop_count})
    if beyond_stop and state.stop_count >= rules.stop_confirmations:
        return Decision(
            "close_all",
            f"stop loss: P&L {pct:+.1f}% <= {rules.stop_loss_pct:+.0f}% on {state.stop_count} consecutive checks",
            state.model_copy(update={"exit_requested": "stop_loss"}),
            units=group.open_units,
            pnl_pct=pct,
        )

    reached = [
        level
        for level, tranche in enumerate(rules.profit_tranches, start=1)
        if pct >= tranche.at_pct and level not in state.fired_levels
    ]
    if reached:
        units = tranche_units(rules.profit_tranches, reached[-1], group.entry_units, group.open_units)
        top = rules.profit_tranches[reached[-1] - 1]
        update: dict = {"fired_levels": tuple(sorted({*state.fired_levels, *reached}))}
        if units == group.open_units:
            update["exit_requested"] = "profit"
        return Decision(
            "close_units",
            f"take profit: P&L {pct:+.1f}% >= {top.at_pct:+.0f}% (level {', '.join(map(str, reached))} "
            f"of {len(rules.profit_tranches)})",
            state.model_copy(update=update),
            units=units,
            levels=tuple(reached),
            pnl_pct=pct,
        )
    if roll_due is not None:
        return _roll(state, group, roll_due, pct)
    if beyond_stop:
        reason = f"P&L {pct:+.1f}% beyond the stop: check {state.stop_count} of {rules.stop_confirmations}"
        return Decision("none", reason, state, pnl_pct=pct)
    return Decision("none", f"P&L {pct:+.1f}%: no rule triggered", state, pnl_pct=pct)


def _roll(state: ManagementState, group: MarkedGroup, dte: int, pct: float | None) -> Decision:
    return Decision(
        "roll",
        f"roll: {dte} days to the nearest expiry",
        state.model_copy(update={"exit_requested": "roll"}),
        units=group.open_units,
        pnl_pct=pct,
    )
