"""Bot management of open groups (exits, stops, rolls, overrides) and recurring order templates.

The rules are pure functions of a snapshot, a state and the engine clock's ``now``; two Actors call them
from their ``on_*`` handlers (docs/management.md). Modules:

- :mod:`.bot_manager`, :mod:`.recurring`: the Actors (bot manager; recurring templates), each with its config;
- :mod:`.snapshots`, :mod:`.market_context`, :mod:`.intent_commands`: what they read from the engine (a
  group's legs and marks; IV rank and portfolio Greeks) and the commands they send;
- :mod:`.action_feed`, :mod:`.config_models`: their actions on the message bus and in the backtest report,
  their database, and the parsing of their nested config tables;
- :mod:`.rules`, :mod:`.state`, :mod:`.exit_rules`: the rules config, the per-group state and
  :func:`~.exit_rules.evaluate` (profit tranches, debounced stop, roll) on trusted mid marks and P&L %
  (:mod:`hybrid.valuation.marks`);
- :mod:`.rolls`: the roll's expiry and strikes, and lineage P&L;
- :mod:`.templates`, :mod:`.entry_conditions`, :mod:`.schedules`: recurring templates, their entry
  conditions and their fire times on the NYSE calendar;
- :mod:`.management_store`, :mod:`.template_store`, :mod:`.action_log`: persistence in the shared SQLite
  database (:class:`hybrid.store.Database`), every change logged.
"""
