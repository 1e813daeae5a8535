"""Running ``run_live.py`` as a subprocess for the live tests: a paper node on 127.0.0.1, its API and its exit.

Every wait is bounded (:data:`WAIT` seconds at most), every node is stopped or killed when its block ends.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from hybrid.api.auth import generate_token

ROOT = Path(__file__).resolve().parents[2]
WAIT = 60.0  # seconds: the longest a node may take to start, fill an order or stop
SPEED = 600  # replayed seconds per second: the small catalog's half-hourly option quotes every 3 s
VIEWER, TRADER, ADMIN = (generate_token() for _ in range(3))
TOKENS = f"vera:viewer:{VIEWER},tom:trader:{TRADER},ada:admin:{ADMIN}"
URL_LINE = re.compile(r"API at (http://127\.0\.0\.1:\d+)")

CONFIG = """\
name = "live-test"
catalog = "{catalog}"
log_level = "WARNING"

[venue]
starting_balance = 100000

[[strategies]]
path = "strategies.order_desk:OrderDesk"

[[actors]]
path = "hybrid.live.drainer:QueueDrainer"

[[exec_algorithms]]
path = "hybrid.execution.two_part:TwoPart"
"""

RISK_GATE = """
[[actors]]
path = "hybrid.risk.account:AccountRisk"

[actors.config.limits]
max_open_groups = 100
max_abs_delta = 100000.0
max_abs_vega = 100000.0
max_loss_per_group = 100000.0
"""  # the account risk gate, wide enough that no test's order is refused (the UI's health page lists its limits)

# The bot manager, with rules it never acts on while a test runs (the UI's tracker shows its rules and next action).
BOT = """
[[actors]]
path = "hybrid.management.bot_manager:BotManager"

[actors.config.rules]
stop_loss_pct = -100000.0
profit_tranches = [{at_pct = 100000.0, fraction = 1.0}]

[actors.config.rules.roll]
below_dte = 1
target_dte_min = 2
target_dte_max = 400
"""


def write_config(directory: Path, catalog: Path) -> Path:
    """A paper config over ``catalog``: the order desk, the queue drainer and the two-part algorithm."""
    path = directory / "live.toml"
    path.write_text(CONFIG.format(catalog=catalog.as_posix()))
    return path


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def eventually[T](probe: Callable[[], T | None], what: str, timeout: float = WAIT) -> T:
    """The first truthy ``probe()`` result, polled every 0.2 s; fails naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


@dataclass
class Node:
    """A running ``run_live.py`` process and its API."""

    process: subprocess.Popen
    url: str
    stderr: Path

    def client(self, token: str) -> httpx.Client:
        return httpx.Client(base_url=self.url + "/api/v1", headers=auth(token), timeout=10.0)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Send ``sig`` and wait for the exit code."""
        self.process.send_signal(sig)
        return self.process.wait(WAIT)

    def errors(self) -> str:
        return self.stderr.read_text()


def run_live(args: list[str], env: dict[str, str], workdir: Path) -> subprocess.Popen:
    """``run_live.py args`` with ``env`` added, stdout and stderr to files in ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    with (workdir / "stdout.log").open("w") as out, (workdir / "stderr.log").open("w") as err:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "run_live.py"), *args],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=err,
        )


@contextlib.contextmanager
def paper_node(config: Path, db: Path, workdir: Path, speed: float = SPEED) -> Iterator[Node]:
    """A paper node on a free 127.0.0.1 port over ``db``, ready once its API shows a quoted underlying;
    killed when the block ends if the test did not stop it."""
    env = {"HYBRID_DB": str(db), "HYBRID_API_TOKENS": TOKENS}
    process = run_live(["--config", str(config), "--port", "0", "--speed", str(speed)], env, workdir)
    stderr = workdir / "stderr.log"
    try:

        def url() -> str | None:
            if process.poll() is not None:
                raise AssertionError(f"run_live.py exited {process.returncode}: {stderr.read_text()}")
            match = URL_LINE.search(stderr.read_text())
            return match.group(1) if match else None

        node = Node(process, eventually(url, "the API address"), stderr)
        with node.client(VIEWER) as viewer:
            eventually(lambda: _quoted(viewer), "the replay's first quotes")
        yield node
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(WAIT)


def _quoted(client: httpx.Client) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        response = client.get("/chain/SPY/quotes")
        return response.status_code == 200 and response.json()["spot"] is not None
    return False


def spread_intent(client: httpx.Client, execution: dict, offset: int = 0, units: int = 2) -> dict:
    """A bull call spread on the second-latest expiry, the strike ``offset`` steps from the middle listed one."""
    expiries = [item["expiry"] for item in client.get("/chain/SPY/expiries").json()]
    expiry = expiries[-2]
    strikes = client.get("/chain/SPY/strikes", params={"expiry": expiry, "right": "call"}).json()["strikes"]
    low = len(strikes) // 2 + offset
    return {
        "kind": "open",
        "underlying": "SPY",
        "units": units,
        "execution": execution,
        "structure": {
            "type": "catalogue",
            "strategy": "bull_call_spread",
            "strikes": strikes[low : low + 2],
            "expiries": [expiry],
        },
    }


def order_status(client: httpx.Client, order_id: str) -> str:
    return client.get(f"/orders/{order_id}").json()["status"]


def history(client: httpx.Client, order_id: str) -> list[str]:
    return [change["status"] for change in client.get(f"/orders/{order_id}/history").json()]
