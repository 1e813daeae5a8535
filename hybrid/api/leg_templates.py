"""Saved custom leg sets (the UI's leg builder): a name, an underlying and the legs of one unit, in SQLite.

Unlike recurring templates (:mod:`hybrid.management.templates`) they have no schedule and never fire: they
are a person's saved structures, loaded back into the builder. Names are unique; saving a used name
replaces that set (the builder's "save" overwrites what it loaded).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

from pydantic import BaseModel, Field

from hybrid.api.fields import Underlying
from hybrid.options.legs import Leg
from hybrid.orders.structures import CustomLegs
from hybrid.store.db import Database

SCHEMA = """
CREATE TABLE leg_templates (
    leg_template_id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    underlying TEXT NOT NULL,
    legs TEXT NOT NULL,
    saved_at TEXT NOT NULL
)
"""


class LegTemplateIn(BaseModel):
    """A leg set to save: ``structure`` is validated like an order's custom legs (at most 8 legs, ratios)."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+$")
    underlying: Underlying
    structure: CustomLegs


class LegTemplate(LegTemplateIn):
    leg_template_id: int
    saved_at: dt.datetime


class LegTemplateNotFound(KeyError):
    pass


class LegTemplateStore:
    """Save (insert or replace by name), list and delete leg sets."""

    def __init__(self, db: Database) -> None:
        self._db = db
        db.ensure_schema("leg_templates", 1, SCHEMA)

    def save(self, template: LegTemplateIn, now: dt.datetime) -> LegTemplate:
        legs = json.dumps([leg.to_dict() for leg in template.structure.legs])
        stamp = now.astimezone(dt.UTC).isoformat()
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO leg_templates (name, underlying, legs, saved_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET underlying = excluded.underlying, legs = excluded.legs, "
                "saved_at = excluded.saved_at",
                (template.name, template.underlying, legs, stamp),
            )
            row = conn.execute("SELECT * FROM leg_templates WHERE name = ?", (template.name,)).fetchone()
        return _stored(row)

    def templates(self) -> list[LegTemplate]:
        return [_stored(row) for row in self._db.query("SELECT * FROM leg_templates ORDER BY name")]

    def delete(self, leg_template_id: int) -> None:
        with self._db.transaction() as conn:
            deleted = conn.execute("DELETE FROM leg_templates WHERE leg_template_id = ?", (leg_template_id,))
            if deleted.rowcount == 0:
                raise LegTemplateNotFound(f"no leg template {leg_template_id}")


def _stored(row: sqlite3.Row) -> LegTemplate:
    data = dict(row)
    legs = [Leg.from_dict(leg) for leg in json.loads(data["legs"])]
    return LegTemplate(
        leg_template_id=data["leg_template_id"],
        name=data["name"],
        underlying=data["underlying"],
        structure=CustomLegs(legs=legs),
        saved_at=dt.datetime.fromisoformat(data["saved_at"]),
    )
