"""The vectorised best-quote rule (:class:`data.databento.consolidate.BestQuote`) against the rule applied
record by record, as the module docstring states it, over several chunks: exchanges that go silent for a
chunk, sides not shown, and the consolidated publisher arriving mid-stream for some instruments."""

from __future__ import annotations

import numpy as np

from data.databento.consolidate import NO_ASK, NO_BID, BestQuote, Quotes, shown, written

CONSOLIDATED = 30
EXCHANGES = (20, 21, 22, 23)


def reference(chunks: list[tuple[Quotes, np.ndarray]], instruments: int) -> list[list[tuple[int, ...]]]:
    """Per chunk, the quotes the rule keeps, one record at a time, grouped by instrument (time order in each)."""
    latest: dict[tuple[int, int], tuple[int, int, int, int]] = {}
    seen: set[int] = set()
    last: dict[int, tuple[int, int, int, int]] = {}
    out = []
    for quotes, publishers in chunks:
        kept: list[tuple[int, ...]] = []
        for row in range(len(quotes)):
            i, p = int(quotes.index[row]), int(publishers[row])
            quote = tuple(int(c[row]) for c in quotes.columns[2:])
            if p == CONSOLIDATED:
                seen.add(i)
            else:
                latest[i, p] = quote  # type: ignore[assignment]
                if i in seen:
                    continue
                books = [q for (j, _), q in latest.items() if j == i]
                bid = max(q[0] for q in books)
                ask = min(q[1] for q in books)
                quote = (
                    bid,
                    ask,
                    sum(q[2] for q in books if q[0] == bid) if bid != NO_BID else 0,
                    sum(q[3] for q in books if q[1] == ask) if ask != NO_ASK else 0,
                )
            if last.get(i) == quote:
                continue
            last[i] = quote  # type: ignore[assignment]
            kept.append((i, int(quotes.ts[row]), *quote))
        out.append(sorted(kept, key=lambda k: k[0]))  # stable: time order within each instrument
    return out


def chunk(rng: np.random.Generator, start: int, size: int, instruments: int, publishers: list[int]):
    ts = np.arange(start, start + size, dtype=np.uint64)
    bid = rng.integers(100, 104, size) * 10_000_000
    ask = bid + rng.integers(1, 3, size) * 10_000_000
    bid_size, ask_size = rng.integers(0, 3, size), rng.integers(0, 3, size)
    bid[rng.random(size) < 0.05] = np.iinfo(np.int64).max  # no price
    index = rng.integers(0, instruments, size).astype(np.int32)
    pub = np.array(publishers, np.uint16)[rng.integers(0, len(publishers), size)]
    if CONSOLIDATED in publishers:  # only the first instruments get the consolidated feed
        pub[(pub == CONSOLIDATED) & (index >= instruments // 2)] = publishers[0]
    return shown(Quotes(index, ts, bid, ask, bid_size, ask_size)), pub


def test_best_quote_matches_the_rule_record_by_record() -> None:
    rng = np.random.default_rng(11)
    instruments = 6
    plan = [list(EXCHANGES), list(EXCHANGES[:2]), [EXCHANGES[3]], [*EXCHANGES, CONSOLIDATED], list(EXCHANGES[1:]), []]
    chunks, start = [], 0
    for publishers in plan:
        size = int(rng.integers(50, 400)) if publishers else 0
        chunks.append(chunk(rng, start, size, instruments, publishers or [EXCHANGES[0]]))
        start += size
    best = BestQuote(instruments, {CONSOLIDATED})
    got = []
    for quotes, publishers in chunks:
        q = written(best(quotes, publishers))
        got.append([(int(r[0]), *(int(c) for c in r[1:])) for r in zip(*q.columns, strict=True)])
    # the catalog's "side not shown": price 0 (sizes are 0 already)
    expected = [
        [(i, ts, 0 if bid == NO_BID else bid, 0 if ask == NO_ASK else ask, bs, as_) for i, ts, bid, ask, bs, as_ in c]
        for c in reference(chunks, instruments)
    ]
    assert got == expected
    assert sum(map(len, got)) > 500  # the rule kept enough quotes to mean something
