"""The control API (FastAPI): REST, JSON-RPC and WebSocket over the same operations.

:mod:`hybrid.api.auth` (tokens, roles, fail-closed start-up) and :mod:`hybrid.api.ratelimit`
(per-token token buckets) are the dependencies every route declares.
"""
