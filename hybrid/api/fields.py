"""Parameter types shared by several routes: symbols, ids, instants and page sizes, bounded so that
no value a client can send reaches the engine or SQLite out of range."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field

from hybrid.orders.queue import MAX_PAGE

EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)


def _in_range(at: dt.datetime) -> dt.datetime:
    if not EARLIEST <= at < LATEST:
        raise ValueError(f"must be from {EARLIEST:%Y-%m-%d} to before {LATEST:%Y-%m-%d} (UTC)")
    return at


UNDERLYING_PATTERN = r"^[A-Z][A-Z0-9.]{0,5}$"  # as the order intents take it
Underlying = Annotated[str, Field(pattern=UNDERLYING_PATTERN, examples=["SPY"], description="underlying symbol")]
Instant = Annotated[AwareDatetime, AfterValidator(_in_range), Field(description="ISO 8601 with a UTC offset")]
OrderId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$", description="a queue order id")]
TemplateId = Annotated[int, Field(ge=1, le=2**63 - 1, description="a template id")]
Limit = Annotated[int, Field(ge=1, le=MAX_PAGE, description=f"at most this many, 1 to {MAX_PAGE}")]
Offset = Annotated[int, Field(ge=0, le=2**62, description="skip this many")]
