"""Reading priced legs (the Leg JSON contract) from a file or stdin, with one-line errors naming the field.

Accepted: the output of ``strategies build --json`` (``{"strategy": ..., "legs": [...]}``) or a bare
list of legs. Every leg needs ``price``, its premium per share (per share of the underlying for an
underlying leg), because analysis values the structure at those prices.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from pathlib import Path

from hybrid.cli.parser import UsageError
from hybrid.options.catalogue.structure import parse_iso_date
from hybrid.options.legs import Leg

_FIELDS = ("kind", "strike", "expiry", "quantity", "price", "iv")
_KINDS = ("call", "put", "underlying")


def read_legs(source: str) -> list[Leg]:
    """Legs from the file ``source``, or from stdin when ``source`` is ``-``."""
    if source == "-":
        return parse_legs(sys.stdin.read())
    try:
        text = Path(source).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise UsageError(f"--legs: cannot read {source!r}: {reason}") from None
    return parse_legs(text)


def parse_legs(text: str) -> list[Leg]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--legs: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    items = data.get("legs") if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise UsageError('--legs: expected a non-empty list of legs, or {"legs": [...]} as built by `strategies build`')
    return [_leg(f"legs[{index}]", item) for index, item in enumerate(items)]


def _number(where: str, value: object, what: str, valid: Callable[[float], bool]) -> float:
    """``value`` as a float when it is a finite JSON number that ``valid`` accepts."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not valid(value):
        raise UsageError(f"{where}: must be {what}, got {json.dumps(value)}")
    return float(value)


def _leg(where: str, item: object) -> Leg:
    if not isinstance(item, dict):
        raise UsageError(f"{where}: expected an object with {', '.join(_FIELDS)}, got {json.dumps(item)}")
    unknown = sorted(set(item) - set(_FIELDS))
    if unknown:
        raise UsageError(f"{where}: unknown field {unknown[0]!r} (fields: {', '.join(_FIELDS)})")
    kind = item.get("kind")
    if kind not in _KINDS:
        raise UsageError(f"{where}.kind: must be one of {', '.join(_KINDS)}, got {json.dumps(kind)}")
    quantity = item.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity == 0:
        raise UsageError(f"{where}.quantity: must be a non-zero integer, got {json.dumps(quantity)}")
    if "price" not in item:
        raise UsageError(f'{where}: missing "price" (the premium per share, a number)')
    price = _number(f"{where}.price", item["price"], "a number >= 0 (premium per share)", lambda v: v >= 0)
    iv = item.get("iv")
    if iv is not None:
        iv = _number(f"{where}.iv", iv, "a positive volatility", lambda v: v > 0)
    if kind == "underlying":
        if item.get("strike") is not None or item.get("expiry") is not None:
            raise UsageError(f"{where}: an underlying leg has no strike and no expiry (use null)")
        return Leg("underlying", None, None, quantity, price, iv)
    strike = _number(f"{where}.strike", item.get("strike"), "a positive number", lambda v: v > 0)
    expiry = item.get("expiry")
    try:
        expiry = parse_iso_date(expiry)
    except ValueError:
        raise UsageError(f"{where}.expiry: must be a real date YYYY-MM-DD, got {json.dumps(expiry)}") from None
    return Leg(kind, strike, expiry, quantity, price, iv)
