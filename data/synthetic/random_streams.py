"""Independent, reproducible random streams: one per purpose, so changing one part of the generator
(e.g. how many contracts are listed) does not reshuffle the random numbers of another (the path)."""

from __future__ import annotations

import numpy as np

DAILY = 1
INTRADAY = 2
UNDERLYING_QUOTES = 3
OPTION_QUOTES = 4
UNDERLYING_TRADES = 5


def stream(seed: int, purpose: int, *key: int) -> np.random.Generator:
    """A generator determined only by ``seed``, the ``purpose`` constant and an optional ``key``."""
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(purpose, *key)))
