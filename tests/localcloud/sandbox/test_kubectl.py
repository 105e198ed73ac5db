"""The real kubectl (v1.32) on the sandbox's cluster, with the kubeconfig `up` wrote: what a user
types on EKS works the same (issue #13's "done when")."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.localcloud.sandbox.conftest import Up

ENICONFIG = """\
apiVersion: crd.k8s.amazonaws.com/v1alpha1
kind: ENIConfig
metadata:
  name: {name}
spec:
  subnet: subnet-0123456789abcdef0
  securityGroups: [sg-0123456789abcdef0]
"""


def _header(output: str) -> list[str]:
    return output.splitlines()[0].split()


def test_get_nodes_wide_prints_the_servers_columns(up: Up) -> None:
    output = up.kubectl("get", "nodes", "-o", "wide").stdout
    assert _header(output) == [
        *("NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP"),
        *("OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"),
    ]
    rows = output.splitlines()[1:]
    assert len(rows) == 3 and all(row.split()[1] == "Ready" for row in rows)
    assert all(row.split()[5].startswith("172.31.") for row in rows)


def test_get_pods_wide_shows_each_pods_ip_and_node_as_the_seed_reads_them(up: Up) -> None:
    output = up.kubectl("get", "pods", "-o", "wide").stdout
    assert _header(output)[:7] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    for row in output.splitlines()[1:]:
        cells = row.split()
        assert cells[1] == "1/1" and cells[2] == "Running"
        assert cells[5].startswith("172.31.") and cells[6].endswith(".compute.internal")


def test_get_services_deployments_and_daemonsets_have_their_default_columns(up: Up) -> None:
    services = up.kubectl("get", "services", "-n", "kube-system").stdout
    assert _header(services) == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert "53/UDP,53/TCP" in services
    deployments = up.kubectl("get", "deployments", "-A", "-o", "wide").stdout
    assert _header(deployments) == [
        *("NAMESPACE", "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR")
    ]
    daemonsets = up.kubectl("get", "daemonsets", "-n", "kube-system").stdout
    assert _header(daemonsets) == [
        *("NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE", "SELECTOR", "AGE")
    ]
    assert any(row.split()[:4] == ["aws-node", "3", "3", "3"] for row in daemonsets.splitlines())


def test_get_statefulsets_and_their_claims_and_volumes_have_their_default_columns(up: Up) -> None:
    statefulsets = up.kubectl("get", "statefulsets", "-n", "data").stdout
    assert _header(statefulsets) == ["NAME", "READY", "AGE"]
    assert statefulsets.splitlines()[1].split()[:2] == ["db", "2/2"]
    wide = up.kubectl("get", "sts", "-n", "data", "-o", "wide").stdout
    assert _header(wide) == ["NAME", "READY", "AGE", "CONTAINERS", "IMAGES"]
    assert wide.splitlines()[1].split()[3:] == ["db", "public.ecr.aws/nginx/nginx:1.27-alpine-slim"]

    claims, volumes = up.kubectl("get", "pvc,pv", "-n", "data").stdout.strip().split("\n\n")
    assert _header(claims) == [
        *("NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS", "MODES", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE")
    ]
    rows = [row.split() for row in claims.splitlines()[1:]]
    assert [row[0] for row in rows] == ["persistentvolumeclaim/data-db-0", "persistentvolumeclaim/data-db-1"]
    assert all(
        row[1] == "Bound" and row[2].startswith("pvc-") and row[3:7] == ["1Gi", "RWO", "gp3", "<unset>"] for row in rows
    )
    assert _header(volumes) == [
        *("NAME", "CAPACITY", "ACCESS", "MODES", "RECLAIM", "POLICY", "STATUS", "CLAIM", "STORAGECLASS"),
        *("VOLUMEATTRIBUTESCLASS", "REASON", "AGE"),
    ]
    rows = [row.split() for row in volumes.splitlines()[1:]]
    assert sorted(row[1:8] for row in rows) == [
        ["1Gi", "RWO", "Delete", "Bound", f"data/data-db-{i}", "gp3", "<unset>"] for i in (0, 1)
    ]
    wide_volumes = up.kubectl("get", "pv", "-o", "wide").stdout
    assert _header(wide_volumes)[-1] == "VOLUMEMODE"
    assert all(row.split()[-1] == "Filesystem" for row in wide_volumes.splitlines()[1:])


def test_apply_of_an_eniconfig_without_flags_then_get_explain_and_diff(up: Up, tmp_path: Path) -> None:
    manifest = tmp_path / "eniconfig.yaml"
    manifest.write_text(ENICONFIG.format(name="ap-southeast-1a"), encoding="utf-8")
    assert "created" in up.kubectl("apply", "-f", str(manifest)).stdout
    assert "unchanged" in up.kubectl("apply", "-f", str(manifest)).stdout
    listed = up.kubectl("get", "eniconfigs").stdout
    assert _header(listed) == ["NAME", "AGE"] and "ap-southeast-1a" in listed
    assert "KIND:       ENIConfig" in up.kubectl("explain", "eniconfig").stdout
    assert up.kubectl("diff", "-f", str(manifest)).returncode == 0
    manifest.write_text(ENICONFIG.format(name="ap-southeast-1a").replace("0123456789abcdef0", "0fedcba9876543210"))
    changed = up.kubectl("diff", "-f", str(manifest), check=False)
    assert changed.returncode == 1 and "subnet-0fedcba9876543210" in changed.stdout
    document = json.loads(up.kubectl("get", "eniconfig", "ap-southeast-1a", "-o", "json").stdout)
    assert document["spec"]["subnet"] == "subnet-0123456789abcdef0"  # diff changed nothing


def test_set_env_then_rollout_status_returns_within_its_timeout(up: Up) -> None:
    up.kubectl("set", "env", "daemonset", "aws-node", "-n", "kube-system", "AWS_VPC_K8S_CNI_EXTERNALSNAT=false")
    done = up.kubectl("rollout", "status", "ds/aws-node", "-n", "kube-system", "--timeout=30s", timeout=60)
    assert 'daemon set "aws-node" successfully rolled out' in done.stdout
    waited = up.kubectl("wait", "--for=condition=Available", "deployment/coredns", "-n", "kube-system", "--timeout=30s")
    assert "condition met" in waited.stdout


_EVENT_ROW = re.compile(r"^\s+(\S+)\s+(\S+)\s+(\S+(?: \(x\d+ over \S+\))?)\s+(\S+)\s+(.*)$")
"""type, reason, age (`5s`, or `5s (x2 over 6s)` for an event seen twice), from, message."""


def _events(output: str) -> list[list[str]]:
    """The rows of describe's Events table: type, reason, age, from, message."""
    lines = output.split("\nEvents:\n", 1)[1].splitlines()
    rows = [_EVENT_ROW.match(line) for line in lines[2:] if line.startswith("  ") and line.strip()]
    return [list(row.groups()) for row in rows if row]


def test_describe_pod_shows_the_schedulers_event_and_describe_node_the_kubelets(up: Up) -> None:
    pods = json.loads(up.kubectl("get", "pods", "-n", "default", "-l", "app=web", "-o", "json").stdout)["items"]
    pod = pods[0]["metadata"]["name"]
    node = pods[0]["spec"]["nodeName"]
    output = up.kubectl("describe", "pod", "-n", "default", pod).stdout
    assert [line.split()[1] for line in output.splitlines() if line.startswith("Status:")] == ["Running"]
    scheduled = [row for row in _events(output) if row[1] == "Scheduled"]
    assert len(scheduled) == 1, output
    assert scheduled[0][0] == "Normal" and scheduled[0][3] == "default-scheduler"
    assert scheduled[0][4] == f"Successfully assigned default/{pod} to {node}"

    rows = _events(up.kubectl("describe", "node", node).stdout)
    assert [row[1] for row in rows] == ["NodeNotReady", "NodeReady"], rows
    assert rows[1][3] == "kubelet" and rows[1][4] == f"Node {node} status is now: NodeReady"


def test_every_node_holds_a_heartbeat_lease_in_kube_node_lease(up: Up) -> None:
    nodes = up.kubectl("get", "nodes", "-o", "name").stdout.split()
    output = up.kubectl("get", "leases", "-n", "kube-node-lease").stdout
    assert _header(output) == ["NAME", "HOLDER", "AGE"]
    rows = [row.split()[:2] for row in output.splitlines()[1:]]
    assert sorted(rows) == sorted([name.removeprefix("node/")] * 2 for name in nodes)


def test_auth_whoami_and_can_i_as_the_account_root(up: Up) -> None:
    whoami = up.kubectl("auth", "whoami", "-o", "json").stdout
    info = json.loads(whoami)["status"]["userInfo"]
    assert info["username"] == "arn:aws:iam::123456789012:root"
    assert info["extra"]["canonicalArn"] == ["arn:aws:iam::123456789012:root"]
    assert up.kubectl("auth", "can-i", "create", "pods", "-n", "kube-system").stdout.strip() == "yes"


CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
  namespace: default
dta:
  typo: of data
data:
  kept: "yes"
"""


def test_apply_of_an_unknown_field_is_refused_by_default_warned_with_validate_warn_and_never_stored(
    up: Up, tmp_path: Path
) -> None:
    manifest = tmp_path / "configmap.yaml"
    manifest.write_text(CONFIGMAP.format(name="unknown-fields"), encoding="utf-8")
    refused = up.kubectl("apply", "-f", str(manifest), check=False)
    assert refused.returncode == 1
    assert 'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "dta"' in (
        refused.stderr
    )
    assert "NotFound" in up.kubectl("get", "configmap", "unknown-fields", check=False).stderr
    warned = up.kubectl("apply", "--validate=warn", "-f", str(manifest))
    assert 'Warning: unknown field "dta"' in warned.stderr and "created" in warned.stdout
    stored = json.loads(up.kubectl("get", "configmap", "unknown-fields", "-o", "json").stdout)
    assert "dta" not in stored and stored["data"] == {"kept": "yes"}
    # An update (kubectl's strategic merge patch) is refused in the same words
    manifest.write_text(CONFIGMAP.format(name="unknown-fields").replace('"yes"', '"still"'), encoding="utf-8")
    patched = up.kubectl("apply", "-f", str(manifest), check=False)
    assert patched.returncode == 1 and 'strict decoding error: unknown field "dta"' in patched.stderr
    quiet = up.kubectl("apply", "--validate=false", "-f", str(manifest))
    assert "Warning" not in quiet.stderr
    stored = json.loads(up.kubectl("get", "configmap", "unknown-fields", "-o", "json").stdout)
    assert "dta" not in stored and stored["data"] == {"kept": "still"}
