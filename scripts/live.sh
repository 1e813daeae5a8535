#!/usr/bin/env bash
# `make live`: the paper node on 127.0.0.1 with the web UI. Prints the URL and an admin token for this run
# (a fresh one each time, unless HYBRID_API_TOKENS is already set); the token is never written to disk.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-8000}"
if [ -z "${HYBRID_API_TOKENS:-}" ]; then
  entry="$(.venv/bin/python -m hybrid.api.auth you admin)"
  export HYBRID_API_TOKENS="$entry"
  echo "UI:    http://127.0.0.1:${PORT}/"
  echo "token: ${entry##*:}   (admin; paste it into the login form)"
else
  echo "UI:    http://127.0.0.1:${PORT}/   (log in with a token of HYBRID_API_TOKENS)"
fi
exec .venv/bin/python run_live.py --host 127.0.0.1 --port "$PORT" "$@"
