"""Helpers shared by tests in several folders: markets, runs, servers, fixtures (not tests themselves)."""
