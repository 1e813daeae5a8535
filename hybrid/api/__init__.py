"""The control API (FastAPI): REST, JSON-RPC and WebSocket over the same operations (docs/api.md).

- :mod:`.app`: ``create_app(context)``, the app factory; :mod:`.server`: uvicorn on the node's loop;
- :mod:`.context`: what the live node hands in (engine view, order queue, stores, hub);
- :mod:`.engine_view`: the ``EngineView`` protocol and its implementation over a NautilusTrader cache;
- :mod:`.operations`: the registry of operations both REST and JSON-RPC call; :mod:`.routers`: one
  router per resource; :mod:`.rpc`: ``POST /rpc``; :mod:`.ws`: the ``/ws`` feed and its hub;
- :mod:`.validation`: intents checked against the chain and the groups; :mod:`.errors`, :mod:`.schemas`,
  :mod:`.fields`: the error, response and parameter contracts;
- :mod:`.auth` (tokens, roles, fail-closed start-up) and :mod:`.ratelimit` (per-token token buckets):
  the dependencies every route declares.
"""
