"""The real kubectl (v1.32) validating and explaining the ENIConfig CRD as on EKS, reading
/openapi/v2 as JSON, and a namespace that stays Terminating while an object in it remains."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.localcloud.sandbox.conftest import Up
from tests.localcloud.sandbox.test_kubectl import ENICONFIG


def test_explain_eniconfig_spec_shows_its_fields(up: Up) -> None:
    explained = up.kubectl("explain", "eniconfig.spec").stdout
    assert "FIELD: spec <Object>" in explained
    assert "subnet\t<string> -required-" in explained
    assert "securityGroups\t<[]string>" in explained


def test_apply_strict_refuses_an_unknown_spec_field_and_takes_a_valid_eniconfig(up: Up, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(ENICONFIG.format(name="strict-wrong") + "  subnetz: subnet-0fedcba9876543210\n")
    refused = up.kubectl("apply", "--validate=strict", "-f", str(wrong), check=False)
    assert refused.returncode == 1
    assert 'strict decoding error: unknown field "spec.subnetz"' in refused.stderr
    assert "NotFound" in up.kubectl("get", "eniconfig", "strict-wrong", check=False).stderr
    right = tmp_path / "right.yaml"
    right.write_text(ENICONFIG.format(name="strict-right"))
    assert (
        "eniconfig.crd.k8s.amazonaws.com/strict-right created"
        in up.kubectl("apply", "--validate=strict", "-f", str(right)).stdout
    )
    warned = up.kubectl("apply", "--validate=warn", "-f", str(wrong))
    assert 'unknown field "spec.subnetz"' in warned.stderr
    stored = json.loads(up.kubectl("get", "eniconfig", "strict-wrong", "-o", "json").stdout)
    assert "subnetz" not in stored["spec"]


def test_openapi_v2_is_served_as_json(up: Up) -> None:
    document = json.loads(up.kubectl("get", "--raw", "/openapi/v2").stdout)
    assert document["swagger"] == "2.0"
    assert (
        "subnet"
        in document["definitions"]["com.amazonaws.k8s.crd.v1alpha1.ENIConfig"]["properties"]["spec"]["properties"]
    )


def test_a_namespace_stays_terminating_until_its_objects_are_gone(up: Up, tmp_path: Path) -> None:
    namespace, pod, late = tmp_path / "namespace.yaml", tmp_path / "pod.yaml", tmp_path / "late.yaml"
    namespace.write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: leaving\n")
    manifest = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: leaving\n{extra}"
        "spec:\n  containers:\n  - {{name: app, image: nginx}}\n"
    )
    pod.write_text(manifest.format(name="held", extra="  finalizers: [example.com/hold]\n"))
    late.write_text(manifest.format(name="late", extra=""))
    up.kubectl("apply", "-f", str(namespace))
    up.kubectl("apply", "-f", str(pod))
    up.kubectl("delete", "namespace", "leaving", "--wait=false")
    listed = up.kubectl("get", "namespace", "leaving").stdout
    assert listed.splitlines()[1].split()[:2] == ["leaving", "Terminating"]
    refused = up.kubectl("apply", "-f", str(late), check=False)
    assert "because it is being terminated" in refused.stderr
    up.kubectl(
        "patch", "pod", "held", "-n", "leaving", "--type=json", "-p", '[{"op":"remove","path":"/metadata/finalizers"}]'
    )
    deadline = time.monotonic() + 30
    while up.kubectl("get", "namespace", "leaving", check=False).returncode == 0:
        assert time.monotonic() < deadline, "the namespace outlived its last object"
        time.sleep(0.5)
    assert "NotFound" in up.kubectl("get", "namespace", "leaving", check=False).stderr
