#!/usr/bin/env bash
# Builds .venv from requirements.lock with Python 3.12 when it is missing or stale.
# Stale = the lock file or pyproject.toml changed since the last successful build.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
STAMP="$VENV/.bootstrap-stamp"
want=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)

if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  exit 0
fi

find_python312() {
  local candidate
  for candidate in python3.12 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12 \
                   /usr/local/bin/python3.12 /usr/bin/python3.12; do
    if command -v "$candidate" >/dev/null 2>&1 \
       && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  if command -v pyenv >/dev/null 2>&1; then
    local v
    v=$(pyenv versions --bare 2>/dev/null | grep -E '^3\.12(\.|$)' | sort -V | tail -n 1 || true)
    if [ -n "$v" ]; then
      PYENV_VERSION="$v" pyenv which python3.12 2>/dev/null && return 0
    fi
  fi
  return 1
}

if ! PY=$(find_python312); then
  echo "bootstrap: Python 3.12 is required (nautilus_trader 1.231.0 needs it) and none was found." >&2
  echo "bootstrap: install it, e.g. 'pyenv install 3.12' or your OS package 'python3.12' (with venv), then re-run." >&2
  exit 1
fi

echo "bootstrap: building $VENV with $PY ($("$PY" --version))"
rm -rf "$VENV"
"$PY" -m venv "$VENV"
pip_install() {
  # Some machines' pip configuration names local index folders that do not exist; hide that noise only.
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$@" 2>&1 \
    | { grep -v -e 'is ignored: it is neither a file nor a directory' \
              -e 'BuildBackendWarning' -e '^ *!!' -e '^ *\*\*\*' -e 'Please be careful with folders' \
              -e 'name as your package' -e 'with strategy, WheelFile' -e '^ *$' || true; }
}
pip_install --upgrade pip
# The lock pins the whole tree, so --no-deps keeps pip from pulling anything unpinned
# (optionlab declares jupyter, which only its notebooks use; the benchmark needs none of it).
pip_install --no-deps -r requirements.lock
pip_install --no-deps -e .
"$VENV/bin/python" -c 'import nautilus_trader, hybrid; assert nautilus_trader.__version__ == "1.231.0", nautilus_trader.__version__'
echo "$want" > "$STAMP"
echo "bootstrap: $VENV ready"
