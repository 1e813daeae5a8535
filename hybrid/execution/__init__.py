"""Execution: the two-part split algorithm, price ladders, fill-rate statistics and leg balancing (docs/execution.md)."""
