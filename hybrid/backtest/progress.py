"""Backtest progress on stderr, driven by a simulated-time timer (timers fire at exact simulated times)."""

from __future__ import annotations

import sys
from datetime import timedelta

import pandas as pd
from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.common.events import TimeEvent


class ProgressConfig(ActorConfig, frozen=True):
    """``start_ns`` / ``end_ns``: the simulated range; a line is printed at every ``step_percent``."""

    start_ns: int
    end_ns: int
    step_percent: int = 5
    interval_minutes: int = 60


class Progress(Actor):
    """Prints ``backtest:  35% 2024-02-03`` lines as simulated time advances (in place on a terminal)."""

    def __init__(self, config: ProgressConfig) -> None:
        super().__init__(config)
        self.shown = -1
        self.tty = sys.stderr.isatty()

    def on_start(self) -> None:
        self.clock.set_timer("progress", timedelta(minutes=self.config.interval_minutes), callback=self.on_tick)

    def on_tick(self, event: TimeEvent) -> None:
        self.show(event.ts_event)

    def on_stop(self) -> None:
        self.show(self.config.end_ns)
        if self.tty:
            sys.stderr.write("\n")

    def show(self, ts_ns: int) -> None:
        span = max(self.config.end_ns - self.config.start_ns, 1)
        percent = min(100, max(0, (ts_ns - self.config.start_ns) * 100 // span))
        step = percent - percent % self.config.step_percent
        if step <= self.shown:
            return
        self.shown = step
        day = pd.Timestamp(min(ts_ns, self.config.end_ns), tz="UTC").strftime("%Y-%m-%d")
        sys.stderr.write(f"{'\r' if self.tty else ''}backtest: {step:3d}% {day}{'' if self.tty else '\n'}")
        sys.stderr.flush()
