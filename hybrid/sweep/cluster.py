"""Ray for a sweep: embedded on this machine's cores by default, a cluster when an address is given; trials as
Ray tasks that each ask for one CPU and the memory a backtest of the catalog needs, so Ray never places more
trials on a node than its memory holds.

Ray's services bind to the machine's own network address even when started locally; tests and benchmarks run
sweeps inside a loopback-only network namespace (docs/sweeps.md).
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hybrid.backtest.runner import STREAMING_THRESHOLD_QUOTES, streaming_chunk_size
from hybrid.runconfig.manifest import CatalogManifest
from hybrid.runconfig.settings import RunSettings
from hybrid.sweep.errors import SweepError
from hybrid.sweep.trial import TrialSpec, run_trial

GB = 1024**3
# One backtest's resident memory: the engine and imports, plus the loaded quotes (the demo catalog's 3.9 M
# quotes peak at about 2.8 GB, measured with bench/sweep.py); a streamed catalog holds at most a few chunks.
BASE_MEMORY = 512 * 1024**2
MEMORY_PER_QUOTE = 600
EMBEDDED_OBJECT_STORE = 256 * 1024**2  # trials pass small records; the rest of the memory is for backtests
HEARTBEAT_SECONDS = 30.0


def trial_memory(settings: RunSettings, manifest: CatalogManifest) -> int:
    """Bytes of memory one trial's backtest needs, from the catalog's size (what each Ray task requests)."""
    streamed = streaming_chunk_size(settings, manifest.quotes) is not None
    quotes = min(manifest.quotes, STREAMING_THRESHOLD_QUOTES) if streamed else manifest.quotes
    return BASE_MEMORY + MEMORY_PER_QUOTE * quotes


@dataclass(frozen=True)
class Capacity:
    """How many trials the cluster runs at once: per node, the fewer of its CPUs and its memory's trials."""

    where: str
    nodes: int
    cpus: int
    memory: int
    trial_memory: int
    slots: int


@contextmanager
def ray_session(address: str | None) -> Iterator[str]:
    """Connect to the cluster at ``address`` (or ``RAY_ADDRESS``), else start Ray embedded; shut down on exit."""
    import ray

    address = address or os.environ.get("RAY_ADDRESS") or None
    try:
        if address:
            check_reachable(address)
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
            where = f"Ray cluster at {address}"
        else:
            _worker_environment()
            ray.init(
                include_dashboard=False,
                object_store_memory=EMBEDDED_OBJECT_STORE,
                logging_level=logging.WARNING,
                log_to_driver=False,
            )
            where = "embedded Ray"
    except SweepError:
        raise
    except Exception as e:
        raise SweepError(f"cannot start Ray{f' at {address!r}' if address else ''}: {str(e).splitlines()[0]}") from None
    try:
        yield where
    finally:
        ray.shutdown()


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail in one line when nothing listens at ``address`` (Ray itself would retry for about a minute)."""
    if address == "auto":
        return
    target = address.removeprefix("ray://")
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise SweepError(f"Ray address {address!r} must look like HOST:PORT, ray://HOST:PORT or auto")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as e:
        raise SweepError(
            f"Ray address {address!r} is unreachable ({e.strerror or e}); start a head with `ray start --head` "
            "there, or leave out --address (and RAY_ADDRESS) for an embedded Ray"
        ) from None


def _worker_environment() -> None:
    """Workers of an embedded Ray inherit the driver's environment: put this checkout first on their import
    path (so they import the same ``hybrid`` and the configuration's components as the driver, not whatever
    else is installed), and run them at the driver's priority (Ray's default adds 15 to their niceness, which
    starves trials on a busy machine; a cluster's nodes keep their own setting)."""
    import hybrid

    root = str(Path(hybrid.__file__).resolve().parents[1])
    paths = [root, os.getcwd(), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    os.environ.setdefault("RAY_worker_niceness", "0")


def capacity(where: str, trial_memory_bytes: int, max_concurrent: int | None) -> Capacity:
    """The cluster's trial slots; a SweepError when no node has the memory one trial needs."""
    import ray

    nodes = [n for n in ray.nodes() if n.get("Alive")]
    cpus = memory = slots = 0
    largest = 0
    for node in nodes:
        resources = node.get("Resources", {})
        node_cpus, node_memory = int(resources.get("CPU", 0)), int(resources.get("memory", 0))
        cpus, memory, largest = cpus + node_cpus, memory + node_memory, max(largest, node_memory)
        slots += min(node_cpus, node_memory // trial_memory_bytes)
    if slots == 0:
        raise SweepError(
            f"a trial needs {trial_memory_bytes / GB:.1f} GB of memory for this catalog; no node of the {where} has "
            f"that much ({largest / GB:.1f} GB at most) and a CPU free"
        )
    return Capacity(
        where=where,
        nodes=len(nodes),
        cpus=cpus,
        memory=memory,
        trial_memory=trial_memory_bytes,
        slots=min(slots, max_concurrent) if max_concurrent else slots,
    )


class Progress:
    """``sweep: 3/8 done, 2 running, 0 failed, 1m05s elapsed, ETA 2m10s`` on stderr as trials start and end."""

    def __init__(self, total: int, done: int, slots: int, label: str = "sweep") -> None:
        self.total, self.done, self.slots, self.label = total, done, slots, label
        self.running = self.failed = 0
        self.started = time.monotonic()
        self.durations: list[float] = []

    def show(self) -> None:
        remaining = self.total - self.done
        if self.durations:
            eta = _duration(remaining * (sum(self.durations) / len(self.durations)) / max(1, self.slots))
        else:
            eta = "unknown"
        print(
            f"{self.label}: {self.done}/{self.total} done, {self.running} running, {self.failed} failed, "
            f"{_duration(time.monotonic() - self.started)} elapsed, ETA {eta}",
            file=sys.stderr,
            flush=True,
        )

    def finished(self, seconds: float, failed: bool) -> None:
        self.done, self.running = self.done + 1, self.running - 1
        self.failed += failed
        self.durations.append(seconds)
        self.show()


def run_trials(
    specs: Sequence[TrialSpec],
    cap: Capacity,
    progress: Progress,
    on_record: Callable[[dict[str, Any]], None] = lambda record: None,
) -> dict[str, dict[str, Any]]:
    """Run the trials, at most ``cap.slots`` at once; their records by key, each with ``task_seconds`` from
    submission to result (a crashed worker's record has an error and no trial folder, so a restart runs it again)."""
    import ray

    task = ray.remote(run_trial).options(num_cpus=1, memory=cap.trial_memory, max_retries=1)
    pending = list(specs)
    running: dict[Any, tuple[TrialSpec, float]] = {}
    records: dict[str, dict[str, Any]] = {}
    while pending or running:
        while pending and len(running) < cap.slots:
            spec = pending.pop(0)
            running[task.remote(spec)] = (spec, time.monotonic())
            progress.running += 1
            progress.show()
        ready, _ = ray.wait(list(running), num_returns=1, timeout=HEARTBEAT_SECONDS)
        if not ready:
            progress.show()
            continue
        spec, started = running.pop(ready[0])
        try:
            record = ray.get(ready[0])
        except Exception as e:  # the worker died (out of memory, killed): not a result of the trial's input
            record = {"key": spec.key, "index": spec.index, "params": dict(spec.params), "start": spec.start}
            record |= {"end": spec.end, "statistics": None, "error": f"worker failed: {str(e).splitlines()[0]}"}
            record |= {"seconds": None, "node": None}
        task_seconds = round(time.monotonic() - started, 2)  # submit to result: the trial plus Ray's share
        records[spec.key] = record | {"task_seconds": task_seconds}
        progress.finished(task_seconds, record["error"] is not None)
        on_record(record)
    return records


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"
