"""Parameter sweeps and walk-forward analysis of the backtest on Ray, embedded or on a cluster (docs/sweeps.md).

A sweep varies dotted keys of a run configuration (:mod:`hybrid.sweep.space`), runs each trial as a normal
backtest of :mod:`hybrid.backtest` in a Ray task (:mod:`hybrid.sweep.trial`, :mod:`hybrid.sweep.cluster`),
scores it from the report's statistics (:mod:`hybrid.sweep.objective`) and writes a results table and plots
(:mod:`hybrid.sweep.results`, :mod:`hybrid.sweep.plots`); :mod:`hybrid.sweep.walk_forward` optimises on
rolling training windows and runs each winner on the window after it.
"""

from hybrid.sweep.errors import SweepError

__all__ = ["SweepError"]
