"""The SQLite store: schema versions, atomic transactions, durability across reopen."""

import sqlite3
import threading
from concurrent.futures import wait

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


def test_writes_waiting_together_share_one_commit_and_a_failing_one_undoes_only_itself(tmp_path, monkeypatch):
    db = Database(tmp_path / "s.sqlite")
    db.ensure_schema("items", 1, DDL)
    commits = []
    transaction = db.transaction

    def counted():
        commits.append(threading.current_thread().name)
        return transaction()

    monkeypatch.setattr(db, "transaction", counted)
    started, release = threading.Event(), threading.Event()

    def hold(conn):  # holds the writer while the others queue up
        started.set()
        return release.wait(10)

    first = db.write(hold)
    assert started.wait(10)
    names = [f"n{i}" for i in range(20)]
    futures = [
        db.write(lambda conn, n=n: conn.execute("INSERT INTO items (name) VALUES (?)", (n,)).lastrowid) for n in names
    ]
    failing = db.write(lambda conn: conn.execute("INSERT INTO items (name) VALUES (NULL)"))
    release.set()
    wait([first, *futures, failing], timeout=10)
    assert first.result() is True
    assert sorted(f.result() for f in futures) == list(range(1, 21))
    with pytest.raises(sqlite3.IntegrityError):
        failing.result()
    assert commits == ["sqlite-writer", "sqlite-writer"]  # the first alone, then the 21 that waited: two fsyncs
    assert sorted(r["name"] for r in db.query("SELECT name FROM items")) == sorted(names)


def test_a_resolved_write_is_on_disk_and_its_after_runs_before(tmp_path):
    path = tmp_path / "s.sqlite"
    db = Database(path)
    db.ensure_schema("items", 1, DDL)
    seen = []

    def after(row_id):  # in the writer thread, after the commit: another connection sees the row
        seen.append(Database(path).query("SELECT name FROM items WHERE id = ?", (row_id,))[0]["name"])

    future = db.write(lambda conn: conn.execute("INSERT INTO items (name) VALUES ('x')").lastrowid, after)
    assert future.result(timeout=10) == 1
    assert seen == ["x"]
    db.close()
    with pytest.raises(RuntimeError, match="the database is closed"):
        db.write(lambda conn: None)
