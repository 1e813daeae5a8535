"""Every use of NautilusTrader 1.231 internals and every workaround of its bugs, in one place.

Each module names the upstream behaviour it depends on or works around, and
``tests/nautilus_compat/`` holds a test per item that fails once upstream changes it, so an upgrade
says which workarounds can go. It imports only NautilusTrader, which is why it sits at the bottom of
the layer order (docs/architecture.md): every layer may use it, it uses none of them.
"""
