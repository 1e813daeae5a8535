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
    """The rule of the module docstring, carried across chunks of one import (state per instrument).

    A quote's four values (bid, ask, bid size, ask size) travel as the rows of one (4, n) array, so each
    exchange's latest quote at every record is one gather."""

    def __init__(self, instruments: int, consolidated: set[int]) -> None:
        self._instruments = instruments
        self._consolidated = np.array(sorted(consolidated), dtype=np.int64)
        self._columns: dict[int, int] = {}
        # each exchange's latest quote per instrument: (instrument, publisher column, value)
        self._state = np.empty((instruments, 0, 4), np.int64)
        self._seen_consolidated = np.zeros(instruments, dtype=bool)
        self._last = np.full((instruments, 4), -2, dtype=np.int64)  # last quote written, for "unchanged"

    def __call__(self, quotes: Quotes, publishers: np.ndarray) -> Quotes:
        """``quotes`` (in time order, sides as :func:`shown`) reduced to the best quote, grouped by instrument."""
        order = grouped_order(quotes.index)
        inst, ts, pub = quotes.index[order], quotes.ts[order], publishers[order]
        values = np.empty((4, len(order)), np.int64)
        for packed, unpacked in zip(values, quotes.columns[2:], strict=True):
            np.take(unpacked, order, out=packed)
        n = len(inst)
        rows = np.arange(n)
        first = np.ones(n, dtype=bool)
        first[1:] = inst[1:] != inst[:-1]
        starts = np.flatnonzero(first)
        group = np.cumsum(first) - 1  # each row's run of one instrument
        group_start = starts[group]
        ends = np.append(starts[1:] - 1, n - 1)
        groups = len(starts)

        is_consolidated = np.isin(pub, self._consolidated)
        # publisher ids are 16-bit: counted, not sorted
        present = {self._column(p): p for p in np.flatnonzero(np.bincount(pub[~is_consolidated])).tolist()}
        # rows n + column * groups + g: the quote of that column's exchange before the chunk, for group g
        before = self._state[inst[starts]].transpose(2, 1, 0).reshape(4, -1)
        known = np.concatenate([values, before], axis=1)
        best = _Best(n)
        for column in range(len(self._columns)):
            fallback = n + column * groups + group
            if column in present:  # this exchange's latest quote at each row, from before the chunk until its first
                latest = np.maximum.accumulate(np.where(pub == present[column], rows, -1))
                side = known.take(np.where(latest >= group_start, latest, fallback), axis=1, mode="clip")
                self._state[inst[ends], column] = side[:, ends].T
            else:  # silent in this chunk: its quote from before still counts
                side = known.take(fallback, axis=1, mode="clip")  # in range: clip skips the checks
            best.fold(side)

        out = best.quote
        if is_consolidated.any() or self._seen_consolidated[inst[starts]].any():
            latest_consolidated = np.maximum.accumulate(np.where(is_consolidated, rows, -1))
            seen = (latest_consolidated >= group_start) | self._seen_consolidated[inst]
            self._seen_consolidated[inst[ends]] = seen[ends]
            out[:, is_consolidated] = values[:, is_consolidated]
            keep = np.flatnonzero(is_consolidated | ~seen)
            inst, ts, out = inst[keep], ts[keep], out.take(keep, axis=1)
        return self._changed(inst, ts, out)

    def _changed(self, inst: np.ndarray, ts: np.ndarray, quote: np.ndarray) -> Quotes:
        """Drop quotes equal to the instrument's previous one (rows grouped by instrument)."""
        n = len(inst)
        if n == 0:
            return Quotes(inst, ts, *(np.empty(0, np.int64) for _ in range(4)))
        first = np.ones(n, dtype=bool)
        first[1:] = inst[1:] != inst[:-1]
        previous = np.empty_like(quote)
        previous[:, 1:] = quote[:, :-1]
        previous[:, first] = self._last[inst[first]].T
        changed = np.flatnonzero((quote != previous).any(axis=0))
        last = np.append(np.flatnonzero(first)[1:] - 1, n - 1)
        self._last[inst[last]] = quote[:, last].T
        return Quotes(inst[changed], ts[changed], *quote.take(changed, axis=1))

    def _column(self, publisher: int) -> int:
        if publisher not in self._columns:
            self._columns[publisher] = len(self._columns)
            empty = np.broadcast_to(np.array([NO_BID, NO_ASK, 0, 0], np.int64), (self._instruments, 1, 4))
            self._state = np.concatenate([self._state, empty], axis=1)
        return self._columns[publisher]


class _Best:
    """The best bid and ask over exchanges folded in one by one, with the sizes shown at them: a (4, n)
    array of bid, ask, bid size, ask size."""

    def __init__(self, n: int) -> None:
        self.quote = np.empty((4, n), np.int64)
        self.quote[:] = np.array([NO_BID, NO_ASK, 0, 0], np.int64)[:, None]

    def fold(self, side: np.ndarray) -> None:
        # a side not shown has size 0, so adding it at an equal price changes nothing
        bid, ask, bid_size, ask_size = self.quote
        better, level = side[0] > bid, side[0] == bid
        bid_size += side[2] * level
        np.copyto(bid_size, side[2], where=better)
        np.maximum(bid, side[0], out=bid)
        better, level = side[1] < ask, side[1] == ask
        ask_size += side[3] * level
        np.copyto(ask_size, side[3], where=better)
        np.minimum(ask, side[1], out=ask)
