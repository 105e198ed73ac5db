"""The real kubectl's `drain` (it evicts through pods/eviction and retries what a budget refuses) on
a sandbox of its own: a Deployment of 3 with a PodDisruptionBudget (minAvailable 2)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.localcloud.sandbox.conftest import Up, start_up

SCENARIO = """\
cluster:
  workloads:
    - {namespace: shop, name: web, replicas: 3, pdb: {minAvailable: 2}}
"""


@pytest.fixture(scope="module")
def drained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    directory = tmp_path_factory.mktemp("drain")
    (directory / "scenario.yaml").write_text(SCENARIO, encoding="utf-8")
    running = start_up(directory, "--scenario", "scenario.yaml")
    try:
        yield running
    finally:
        running.stop()


def _node_of_a_web_pod(up: Up) -> str:
    output = up.kubectl("get", "pods", "-n", "shop", "-o", "jsonpath={.items[*].spec.nodeName}").stdout
    return sorted(output.split())[0]


def test_drain_evicts_within_the_budget_and_waits_for_the_pods_to_go(drained: Up) -> None:
    node = _node_of_a_web_pod(drained)
    done = drained.kubectl("drain", node, "--ignore-daemonsets", "--timeout=60s", timeout=90)
    assert f"node/{node} cordoned" in done.stdout
    assert "evicting pod shop/web-" in done.stderr + done.stdout
    assert f"node/{node} drained" in done.stdout
    on_node = drained.kubectl(
        "get", "pods", "-n", "shop", "--field-selector", f"spec.nodeName={node}", "-o", "name"
    ).stdout
    assert on_node.strip() == ""
    ready = drained.kubectl("get", "deployment", "web", "-n", "shop", "-o", "jsonpath={.status.readyReplicas}")
    assert ready.stdout == "3"  # the evicted pod was replaced on another node


def test_drain_retries_an_eviction_the_budget_refuses_until_its_timeout(drained: Up) -> None:
    drained.kubectl("patch", "pdb", "web", "-n", "shop", "--type=merge", "-p", '{"spec":{"minAvailable":3}}')
    node = _node_of_a_web_pod(drained)
    done = drained.kubectl("drain", node, "--ignore-daemonsets", "--timeout=7s", check=False, timeout=60)
    assert done.returncode != 0
    assert "Cannot evict pod as it would violate the pod's disruption budget." in done.stderr
    assert "will retry after 5s" in done.stderr
    kept = drained.kubectl("get", "pods", "-n", "shop", "--field-selector", f"spec.nodeName={node}", "-o", "name")
    assert kept.stdout.startswith("pod/web-")  # refused: still on the node
    drained.kubectl("uncordon", node)
