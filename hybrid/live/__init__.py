"""The live node: ``run_live.py``'s TradingNode (paper replay + simulated venue, or Interactive Brokers) and the
control API on one event loop, and the Actor that drains the API's order queue into the engine (docs/live.md)."""
