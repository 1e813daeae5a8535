"""One best quote per instrument from files that carry several publishers' quotes.

OPRA's mbp-1, tbbo and bbo-* files (and equity ones such as DBEQ.BASIC) hold each exchange's own top of book
next to each other; merged by time as they are, most quotes of a contract would be some exchange's worse
market. The rule, per instrument and record in time order:

- the consolidated publisher (the one named like the dataset: OPRA for OPRA.PILLAR) is the best quote as the
  feed published it: from its first record on, the instrument's quotes are its records and the exchanges'
  records are dropped;
- otherwise the quote is the best bid and the best ask over every exchange's latest quote, the size at each
  the sum of the sizes shown at that price; a side an exchange does not show (no price, or size 0) takes no
  part, and a side nobody shows is written as price 0 and size 0 (the project's "side not shown");
- a record that leaves the best quote unchanged is not a new quote and is dropped.

``publisher`` (``--publisher XCBO``) keeps one exchange's quotes instead, as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import databento
import numpy as np

UNDEF_PRICE = np.iinfo(np.int64).max  # Databento's "no price"
NO_BID = -1
NO_ASK = UNDEF_PRICE


@dataclass
class Quotes:
    """Quote columns: chain index, receive time, prices (Databento fixed point, 1e-9) and sizes."""

    index: np.ndarray
    ts: np.ndarray
    bid: np.ndarray
    ask: np.ndarray
    bid_size: np.ndarray
    ask_size: np.ndarray

    def take(self, rows: np.ndarray) -> Quotes:
        return Quotes(*(column[rows] for column in self.columns))

    @property
    def columns(self) -> tuple[np.ndarray, ...]:
        return (self.index, self.ts, self.bid, self.ask, self.bid_size, self.ask_size)

    def __len__(self) -> int:
        return len(self.ts)


def consolidated_publishers(dataset: str) -> set[int]:
    """The publisher ids that stand for the whole feed of ``dataset`` (OPRA.PILLAR's OPRA)."""
    code = dataset.split(".")[0]
    return {p.to_int() for p in databento.Publisher if str(p.dataset) == dataset and str(p.venue) == code}


def publisher_id(dataset: str, venue: str) -> int:
    """The id of ``dataset``'s publisher for exchange ``venue`` (``--publisher``)."""
    found = [p.to_int() for p in databento.Publisher if str(p.dataset) == dataset and str(p.venue) == venue]
    if not found:
        known = sorted(str(p.venue) for p in databento.Publisher if str(p.dataset) == dataset)
        raise ValueError(f"--publisher {venue!r}: {dataset} has no such publisher (one of {', '.join(known)})")
    return found[0]


def shown(quotes: Quotes) -> Quotes:
    """Sides with no price or no size as sentinels the best-quote rule ignores."""
    no_bid = (quotes.bid == UNDEF_PRICE) | (quotes.bid_size == 0)
    no_ask = (quotes.ask == UNDEF_PRICE) | (quotes.ask_size == 0)
    return Quotes(
        quotes.index,
        quotes.ts,
        np.where(no_bid, NO_BID, quotes.bid),
        np.where(no_ask, NO_ASK, quotes.ask),
        np.where(no_bid, 0, quotes.bid_size).astype(np.int64),
        np.where(no_ask, 0, quotes.ask_size).astype(np.int64),
    )


def written(quotes: Quotes) -> Quotes:
    """Sentinels back to the catalog's "side not shown": price 0, size 0."""
    return Quotes(
        quotes.index,
        quotes.ts,
        np.where(quotes.bid == NO_BID, 0, quotes.bid),
        np.where(quotes.ask == NO_ASK, 0, quotes.ask),
        quotes.bid_size,
        quotes.ask_size,
    )


def by_instrument(quotes: Quotes) -> Quotes:
    """Rows grouped by instrument, in time order within each (a stable sort of time-ordered records)."""
    return quotes.take(grouped_order(quotes.index))


def grouped_order(index: np.ndarray) -> np.ndarray:
    """The stable sort of chain indices (>= 0): as 16-bit keys when they fit, which numpy radix-sorts."""
    if len(index) and int(index.max()) <= np.iinfo(np.uint16).max:
        index = index.astype(np.uint16)
    return np.argsort(index, kind="stable")


class BestQuote:
    """The rule of the module docstring, carried across chunks of one import (state per instrument)."""

    def __init__(self, instruments: int, consolidated: set[int]) -> None:
        self._instruments = instruments
        self._consolidated = np.array(sorted(consolidated), dtype=np.int64)
        self._columns: dict[int, int] = {}
        # each exchange's latest bid, ask, bid size, ask size: one column per publisher
        self._state = [np.empty((instruments, 0), np.int64) for _ in range(4)]
        self._seen_consolidated = np.zeros(instruments, dtype=bool)
        self._last = np.full((instruments, 4), -2, dtype=np.int64)  # last quote written, for "unchanged"

    def __call__(self, quotes: Quotes, publishers: np.ndarray) -> Quotes:
        """``quotes`` (in time order, sides as :func:`shown`) reduced to the best quote, grouped by instrument."""
        order = grouped_order(quotes.index)
        q, pub = quotes.take(order), publishers[order].astype(np.int64)
        n = len(q)
        rows = np.arange(n)
        first = np.ones(n, dtype=bool)
        first[1:] = q.index[1:] != q.index[:-1]
        starts = np.flatnonzero(first)
        group = np.cumsum(first) - 1  # each row's run of one instrument
        group_start = starts[group]
        ends = np.append(starts[1:] - 1, n - 1)
        inst = q.index
        group_inst = inst[starts]

        best = _Best(n)
        is_consolidated = np.isin(pub, self._consolidated)
        present = {self._column(p): p for p in np.unique(pub[~is_consolidated]).tolist()}
        for column in range(len(self._columns)):
            before = [state[group_inst, column] for state in self._state]  # its quote before the chunk, per group
            if column in present:  # this exchange's latest quote at each row, from before the chunk until its first
                latest = np.maximum.accumulate(np.where(pub == present[column], rows, -1))
                own = latest >= group_start
                at = np.where(own, latest, n + group)
                side = [np.concatenate([mine, old]).take(at) for mine, old in zip(q.columns[2:], before, strict=True)]
                for state, values in zip(self._state, side, strict=True):
                    state[inst[ends], column] = values[ends]
            else:  # silent in this chunk: its quote from before still counts
                side = [old.take(group) for old in before]
            best.fold(*side)

        latest_consolidated = np.maximum.accumulate(np.where(is_consolidated, rows, -1))
        seen = (latest_consolidated >= group_start) | self._seen_consolidated[inst]
        self._seen_consolidated[inst[ends]] = seen[ends]
        keep = is_consolidated | ~seen
        out = Quotes(
            inst,
            q.ts,
            np.where(is_consolidated, q.bid, best.bid),
            np.where(is_consolidated, q.ask, best.ask),
            np.where(is_consolidated, q.bid_size, best.bid_size),
            np.where(is_consolidated, q.ask_size, best.ask_size),
        )
        return self._changed(out if keep.all() else out.take(np.flatnonzero(keep)))

    def _changed(self, q: Quotes) -> Quotes:
        """Drop quotes equal to the instrument's previous one (rows grouped by instrument)."""
        n = len(q)
        if n == 0:
            return q
        first = np.ones(n, dtype=bool)
        first[1:] = q.index[1:] != q.index[:-1]
        at_first = q.index[first]
        changed = np.zeros(n, dtype=bool)
        for k, column in enumerate((q.bid, q.ask, q.bid_size, q.ask_size)):
            previous = np.empty_like(column)
            previous[1:] = column[:-1]
            previous[first] = self._last[at_first, k]
            changed |= column != previous
        last = np.append(np.flatnonzero(first)[1:] - 1, n - 1)
        self._last[q.index[last]] = np.column_stack([q.bid[last], q.ask[last], q.bid_size[last], q.ask_size[last]])
        return q.take(np.flatnonzero(changed))

    def _column(self, publisher: int) -> int:
        if publisher not in self._columns:
            self._columns[publisher] = len(self._columns)
            empty = (NO_BID, NO_ASK, 0, 0)
            self._state = [
                np.hstack([state, np.full((self._instruments, 1), value, np.int64)])
                for state, value in zip(self._state, empty, strict=True)
            ]
        return self._columns[publisher]


class _Best:
    """The best bid and ask over exchanges folded in one by one, with the sizes shown at them."""

    def __init__(self, n: int) -> None:
        self.bid = np.full(n, NO_BID, np.int64)
        self.ask = np.full(n, NO_ASK, np.int64)
        self.bid_size = np.zeros(n, np.int64)
        self.ask_size = np.zeros(n, np.int64)

    def fold(self, bid: np.ndarray, ask: np.ndarray, bid_size: np.ndarray, ask_size: np.ndarray) -> None:
        # a side not shown has size 0, so adding it at an equal price changes nothing
        better, level = bid > self.bid, bid == self.bid
        self.bid_size += bid_size * level
        np.copyto(self.bid_size, bid_size, where=better)
        np.maximum(self.bid, bid, out=self.bid)
        better, level = ask < self.ask, ask == self.ask
        self.ask_size += ask_size * level
        np.copyto(self.ask_size, ask_size, where=better)
        np.minimum(self.ask, ask, out=self.ask)
