"""``python -m hybrid``: the project's command line (groups and contract in :mod:`hybrid.cli`)."""

import os
import sys

from hybrid.cli import main

try:
    code = main()
    sys.stdout.flush()
except BrokenPipeError:
    # The reader went away (``... | head``): not an error of ours. Silence the final flush at exit.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    code = 0
sys.exit(code)
