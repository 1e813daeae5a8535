"""The leg: the one shape every part of the system uses to describe a multi-leg structure."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

LegKind = Literal["call", "put", "underlying"]


@dataclass(frozen=True, slots=True)
class Leg:
    """One leg of a structure, per one unit of the strategy.

    ``quantity`` is signed (+ long, - short): contracts for options, shares for the underlying
    (an underlying leg of a covered call is +multiplier shares). ``price`` is a premium per share
    (per underlying share for the underlying leg) when known; ``iv`` the leg's own implied volatility.
    """

    kind: LegKind
    strike: float | None
    expiry: dt.date | None
    quantity: int
    price: float | None = None
    iv: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("call", "put", "underlying"):
            raise ValueError(f"leg kind must be 'call', 'put' or 'underlying', got {self.kind!r}")
        if self.quantity == 0:
            raise ValueError("leg quantity must be non-zero")
        if self.kind == "underlying":
            if self.strike is not None or self.expiry is not None:
                raise ValueError("an underlying leg has no strike and no expiry")
        else:
            if self.strike is None or not self.strike > 0:
                raise ValueError(f"an option leg needs a positive strike, got {self.strike!r}")
            if self.expiry is None:
                raise ValueError("an option leg needs an expiry date")

    @property
    def is_option(self) -> bool:
        return self.kind != "underlying"

    def to_dict(self) -> dict:
        """The JSON contract of the CLI and the API (expiry as YYYY-MM-DD)."""
        out: dict = {
            "kind": self.kind,
            "strike": self.strike,
            "expiry": self.expiry.isoformat() if self.expiry else None,
            "quantity": self.quantity,
        }
        if self.price is not None:
            out["price"] = self.price
        if self.iv is not None:
            out["iv"] = self.iv
        return out

    @classmethod
    def from_dict(cls, d: dict) -> Leg:
        expiry = d.get("expiry")
        strike = d.get("strike")
        return cls(
            kind=d["kind"],
            strike=None if strike is None else float(strike),
            expiry=None if expiry is None else dt.date.fromisoformat(str(expiry)),
            quantity=int(d["quantity"]),
            price=None if d.get("price") is None else float(d["price"]),
            iv=None if d.get("iv") is None else float(d["iv"]),
        )
