"""Small Databento DBN files written offline with ``databento_dbn``, shaped like real downloads.

A DBN file is the encoded ``Metadata`` followed by the records' bytes, zstd-compressed. Prices are
fixed-point integers scaled by 1e9; timestamps are UNIX nanoseconds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import databento
import databento_dbn as dbn
import numpy as np
import pandas as pd
import zstandard

from hybrid.options.instruments import parse_occ_symbol

OPRA = databento.Publisher.OPRA_PILLAR_OPRA.to_int()
XNAS = databento.Publisher.XNAS_ITCH_XNAS.to_int()
SESSION_OPEN_NS = pd.Timestamp("2024-06-03 13:30", tz="UTC").value
SECOND_NS = 1_000_000_000
PRICE_SCALE = 1_000_000_000


@dataclass(frozen=True)
class Interval:
    """A symbol mapping interval (``databento_dbn`` wants objects with attributes, not dicts)."""

    start_date: dt.date
    end_date: dt.date
    symbol: str


@dataclass(frozen=True)
class Mapping:
    raw_symbol: str
    intervals: list[Interval]


@dataclass(frozen=True)
class Quote:
    """One top-of-book update, in plain numbers."""

    ts_ns: int
    bid: float
    ask: float
    bid_size: int
    ask_size: int


def write_dbn(
    path: Path,
    dataset: str,
    schema: str,
    symbols: dict[str, int],
    records: Sequence[object] | np.ndarray,
    compress: bool = True,
    parent: str | None = None,
    days: int = 1,
) -> Path:
    """Write ``records`` (record objects, or a structured array of :func:`record_array`) for ``symbols``
    (raw symbol -> Databento instrument id) as a DBN file; ``parent`` (``SPY.OPT``) requests them by parent
    symbol instead, whose mappings name instrument ids only, as Databento's do."""
    day = pd.Timestamp(SESSION_OPEN_NS, unit="ns").date()
    end = day + dt.timedelta(days=days)
    if parent is None:
        mappings = [Mapping(raw, [Interval(day, end, str(iid))]) for raw, iid in symbols.items()]
    else:
        mappings = [Mapping(parent, [Interval(day, end, str(iid)) for iid in symbols.values()])]
    metadata = dbn.Metadata(
        dataset=dataset,
        start=SESSION_OPEN_NS - 3600 * SECOND_NS,
        end=SESSION_OPEN_NS + days * 24 * 3600 * SECOND_NS,
        stype_in=dbn.SType.PARENT if parent else dbn.SType.RAW_SYMBOL,
        stype_out=dbn.SType.INSTRUMENT_ID,
        schema=dbn.Schema.from_str(schema),
        symbols=[parent] if parent else list(symbols),
        mappings=mappings,
    )
    body = records.tobytes() if isinstance(records, np.ndarray) else b"".join(bytes(r) for r in records)
    raw = metadata.encode() + body
    path.write_bytes(zstandard.ZstdCompressor().compress(raw) if compress else raw)
    return path


_RECORD_TYPES = {
    "mbp-1": dbn.MBP1Msg,
    "tbbo": dbn.MBP1Msg,
    "cbbo-1s": dbn.CBBOMsg,
    "trades": dbn.TradeMsg,
}


def record_array(schema: str, count: int) -> np.ndarray:
    """``count`` zeroed records of ``schema`` in the DBN layout (``databento_dbn``'s dtype), headers set, for
    writing large files fast; fill ``instrument_id``, ``publisher_id``, ``ts_recv``, prices and sizes."""
    dtype = np.dtype(_RECORD_TYPES[schema]._dtypes)
    records = np.zeros(count, dtype=dtype)
    records["length"] = dtype.itemsize // 4
    records["rtype"] = int(dbn.RType.from_schema(dbn.Schema.from_str(schema)))
    records["ts_in_delta" if "ts_in_delta" in dtype.names else "flags"] = 0
    return records


def trade_record(publisher: int, instrument_id: int, ts_ns: int, price: float, size: int, side: str) -> dbn.TradeMsg:
    """A trade print; ``side`` is the aggressor's: ``B`` buyer, ``A`` seller, ``N`` none."""
    return dbn.TradeMsg(
        publisher_id=publisher,
        instrument_id=instrument_id,
        ts_event=ts_ns,
        ts_recv=ts_ns,
        price=_px(price),
        size=size,
        action=dbn.Action.TRADE,
        side={"B": dbn.Side.BID, "A": dbn.Side.ASK, "N": dbn.Side.NONE}[side],
        depth=0,
        flags=dbn.F_LAST,
    )


def _px(price: float) -> int:
    return round(price * PRICE_SCALE)


def _definition(publisher: int, instrument_id: int, raw_symbol: str, **fields: object) -> dbn.InstrumentDefMsg:
    """A definition added an hour before the open, priced in cents, as Databento sends them."""
    ts = SESSION_OPEN_NS - 3600 * SECOND_NS
    return dbn.InstrumentDefMsg(
        publisher_id=publisher,
        instrument_id=instrument_id,
        ts_event=ts,
        ts_recv=ts,
        min_price_increment=_px(0.01),
        display_factor=PRICE_SCALE,
        raw_symbol=raw_symbol,
        security_update_action=dbn.SecurityUpdateAction.ADD,
        currency="USD",
        **fields,
    )


def option_definition(raw_symbol: str, instrument_id: int, publisher: int = OPRA) -> dbn.InstrumentDefMsg:
    """An OPRA option definition: Databento gives the expiry as midnight UTC of the expiry date."""
    root, expiry, right, strike = parse_occ_symbol(raw_symbol)
    return _definition(
        publisher,
        instrument_id,
        raw_symbol,
        asset=root,
        security_type="OOSTK",
        instrument_class=dbn.InstrumentClass.CALL if right == "C" else dbn.InstrumentClass.PUT,
        expiration=pd.Timestamp(expiry, tz="UTC").value,
        strike_price=_px(float(strike)),
        underlying=root,
        exchange="OPRA",
        contract_multiplier=100,
        unit_of_measure_qty=_px(100),
        min_lot_size_round_lot=1,
    )


def spread_definition(raw_symbol: str, instrument_id: int, underlying: str) -> dbn.InstrumentDefMsg:
    """An options strategy listed as one instrument (NautilusTrader decodes it as ``OptionSpread``)."""
    return _definition(
        OPRA,
        instrument_id,
        raw_symbol,
        asset=underlying,
        security_type="",
        secsubtype="VT",
        instrument_class=dbn.InstrumentClass.MIXED_SPREAD,
        expiration=SESSION_OPEN_NS + 30 * 24 * 3600 * SECOND_NS,
        underlying=underlying,
        exchange="OPRA",
    )


def equity_definition(symbol: str, instrument_id: int, round_lot: int = 100) -> dbn.InstrumentDefMsg:
    """A Nasdaq stock definition (decoded as ``Equity``, lot size = the round lot)."""
    return _definition(
        XNAS,
        instrument_id,
        symbol,
        asset=symbol,
        security_type="",
        instrument_class=dbn.InstrumentClass.STOCK,
        exchange="XNAS",
        min_lot_size_round_lot=round_lot,
    )


def quote_record(schema: str, publisher: int, instrument_id: int, quote: Quote) -> object:
    """The record type ``schema`` uses, carrying ``quote`` as its top of book."""
    common = {
        "publisher_id": publisher,
        "instrument_id": instrument_id,
        "ts_event": quote.ts_ns,
        "ts_recv": quote.ts_ns,
    }
    book = {"bid_px": _px(quote.bid), "ask_px": _px(quote.ask), "bid_sz": quote.bid_size, "ask_sz": quote.ask_size}
    trade = {"price": _px(quote.ask), "size": 1, "side": dbn.Side.BID}
    rtype = int(dbn.RType.from_schema(dbn.Schema.from_str(schema)))
    match schema:
        case "mbp-1" | "tbbo":
            action = dbn.Action.TRADE if schema == "tbbo" else dbn.Action.ADD
            return dbn.MBP1Msg(
                **common,
                **trade,
                action=action,
                depth=0,
                flags=dbn.F_LAST,
                levels=dbn.BidAskPair(**book, bid_ct=1, ask_ct=1),
            )
        case "bbo-1s" | "bbo-1m":
            return dbn.BBOMsg(rtype=rtype, **common, **trade, levels=dbn.BidAskPair(**book))
        case "cmbp-1" | "tcbbo":
            action = dbn.Action.TRADE if schema == "tcbbo" else dbn.Action.ADD
            return dbn.CMBP1Msg(
                rtype=rtype,
                **common,
                **trade,
                action=action,
                levels=dbn.ConsolidatedBidAskPair(**book, bid_pb=publisher, ask_pb=publisher),
            )
        case "cbbo-1s" | "cbbo-1m":
            return dbn.CBBOMsg(
                rtype=rtype,
                **common,
                **trade,
                levels=dbn.ConsolidatedBidAskPair(**book, bid_pb=publisher, ask_pb=publisher),
            )
    raise ValueError(f"no quote record for schema {schema}")


def quote_series(first_ns: int, count: int, mid: float, spread: float = 0.10) -> list[Quote]:
    """``count`` one-second quotes stepping the mid up a cent each, sizes growing by one."""
    return [
        Quote(
            ts_ns=first_ns + i * SECOND_NS,
            bid=round(mid + i * 0.01 - spread / 2, 2),
            ask=round(mid + i * 0.01 + spread / 2, 2),
            bid_size=10 + i,
            ask_size=20 + i,
        )
        for i in range(count)
    ]
