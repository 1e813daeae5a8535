"""The exchange's calendar and clock: NYSE sessions and expiry dates, New York wall time from engine instants.

The lowest layer with :mod:`hybrid.options`' vocabulary: it imports nothing of the project, so data
generators, rules and entry points can all agree on one calendar without a cycle.
"""
