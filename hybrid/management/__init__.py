"""Bot management of open groups (exits, stops, rolls, overrides) and recurring order templates.

The rules are pure functions of a snapshot, a state and the engine clock's ``now``; the Actors that call
them from their ``on_*`` handlers live elsewhere. Modules:

- :mod:`.rules`, :mod:`.state`, :mod:`.marks`, :mod:`.exit_rules`: the rules config, the per-group state,
  trusted mid marks and P&L %, and :func:`~.exit_rules.evaluate` (profit tranches, debounced stop, roll);
- :mod:`.rolls`: the roll's expiry and strikes, and lineage P&L;
- :mod:`.templates`, :mod:`.entry_conditions`, :mod:`.schedules`: recurring templates, their entry
  conditions and their fire times on the NYSE calendar;
- :mod:`.management_store`, :mod:`.template_store`, :mod:`.action_log`: persistence in the shared SQLite
  database (:class:`hybrid.store.Database`), every change logged.
"""
