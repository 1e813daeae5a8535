"""``python tests/support/two_node_sweep.py SWEEP-ARGS...``: ``python -m hybrid sweep`` on a two-node Ray cluster
(``ray.cluster_utils.Cluster``, one CPU a node) started on this machine; run it in a loopback-only namespace
(tests/support/loopback.py)."""

from __future__ import annotations

import sys

from ray.cluster_utils import Cluster

from hybrid.cli import main

OBJECT_STORE = 128 * 1024**2


def run(argv: list[str]) -> int:
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "include_dashboard": False, "object_store_memory": OBJECT_STORE},
    )
    cluster.add_node(num_cpus=1, object_store_memory=OBJECT_STORE)
    cluster.wait_for_nodes()
    try:
        return main(["sweep", *argv, "--address", cluster.address])
    finally:
        cluster.shutdown()


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
