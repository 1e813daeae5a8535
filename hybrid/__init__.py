"""Hybrid options trading system on NautilusTrader: the library both runners share."""
