"""What NautilusTrader 1.231's ``GreeksCalculator`` (``nautilus_trader/model/greeks.pyx``) gets wrong for options.

The project therefore prices options and structures itself (:mod:`hybrid.options.pricing`, cost of
carry b = r - q, time to expiry in fractional years) and passes rate and dividend yield wherever it
uses the calculator (the risk gate's book Greeks):

- time to expiry is floored to whole days, at least 1 (``_calculate_option_greeks``:
  ``expiry_in_days = max((expiry_utc - utc_now).days, 1)``), so Greeks at 0-1 DTE are those of a
  one-day option;
- an ``OptionSpread`` is not an option to it (``instrument_class`` is not ``OPTION``): without a spread
  quote ``instrument_greeks`` returns None, with one it returns the Greeks of a linear instrument
  (delta 1, gamma 0), never the sum over the legs; spread Greeks come from the legs.

Upstream: no issue found as of 1.231.0. ``tests/nautilus_compat/test_greeks.py`` fails once either changes.
"""
