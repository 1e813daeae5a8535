"""The SQLite store: schema versions, atomic transactions, durability across reopen."""

import sqlite3

import pytest

from hybrid.store import Database

DDL = "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL); CREATE INDEX items_name ON items(name)"


def test_schema_created_once_and_rows_survive_reopen(tmp_path):
    path = tmp_path / "s.sqlite"
    db = Database(path)
    db.ensure_schema("items", 1, DDL)
    db.execute("INSERT INTO items (name) VALUES (?)", ("a",))
    db.close()

    reopened = Database(path)
    reopened.ensure_schema("items", 1, DDL)  # no error: same version, tables kept
    assert [r["name"] for r in reopened.query("SELECT name FROM items")] == ["a"]


def test_schema_version_mismatch_is_an_error(tmp_path):
    db = Database(tmp_path / "s.sqlite")
    db.ensure_schema("items", 1, DDL)
    with pytest.raises(RuntimeError, match="items tables are version 1, this code needs 2"):
        db.ensure_schema("items", 2, DDL)


def test_transaction_rolls_back_on_error(tmp_path):
    db = Database(tmp_path / "s.sqlite")
    db.ensure_schema("items", 1, DDL)
    with pytest.raises(sqlite3.IntegrityError), db.transaction() as conn:
        conn.execute("INSERT INTO items (name) VALUES ('kept?')")
        conn.execute("INSERT INTO items (name) VALUES (NULL)")
    assert db.query("SELECT COUNT(*) AS n FROM items")[0]["n"] == 0


def test_durable_settings(tmp_path):
    db = Database(tmp_path / "s.sqlite")
    assert db.query("PRAGMA journal_mode")[0][0] == "wal"
    assert db.query("PRAGMA synchronous")[0][0] == 2  # FULL
