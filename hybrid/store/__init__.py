"""Persistence: one SQLite database for everything that must survive a restart."""

from hybrid.store.db import Database, default_db_path

__all__ = ["Database", "default_db_path"]
