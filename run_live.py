"""The live node and the control API in one process: paper (catalog replay, simulated venue) or Interactive Brokers.

    python run_live.py [--mode paper|ib] [--host 127.0.0.1] [--port 8000] [--speed N] [--config FILE]
                       [--catalog DIR] [--insecure-local]

How to run each mode, the environment variables and how state persists: docs/live.md.
"""

from __future__ import annotations

from hybrid.live.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
