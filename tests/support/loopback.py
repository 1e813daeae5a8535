"""Run a command inside a loopback-only network namespace, so the Ray it starts can bind nothing but 127.0.0.1.

Ray binds its services to the machine's own address even when started locally (``_node_ip_address`` does not
change it). In a fresh network namespace (``unshare -n``, as root) with only ``lo`` up, that address *is*
127.0.0.1, and nothing outside the namespace can reach or be reached. Every test and benchmark that starts
Ray goes through :func:`loopback_command`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence

_WRAPPER = 'ip link set lo up && exec "$@"'


def loopback_available() -> bool:
    """unshare and ip are here and we may create a network namespace (root)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    probe = subprocess.run(["unshare", "-n", "sh", "-c", _WRAPPER, "sh", "true"], capture_output=True, check=False)
    return probe.returncode == 0


def loopback_command(argv: Sequence[str]) -> list[str]:
    """``argv`` run in a new network namespace whose only interface is ``lo``, up."""
    return ["unshare", "-n", "sh", "-c", _WRAPPER, "sh", *argv]
