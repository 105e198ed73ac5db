"""The layer ships boto3 and botocore as one matched, pinned pair (issue 11 item 10), the pair the
tests run on (requirements-dev.lock): the Lambda runtime's own boto3 would otherwise meet whatever
botocore another dependency pulls into the layer (aws-xray-sdk pulled botocore 1.44 beside the
runtime's boto3)."""

from __future__ import annotations

import re
from importlib.metadata import requires
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)==([^\s;#]+)", line.strip())
        if match:
            pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins


def test_the_layer_pins_boto3_and_botocore_from_its_requirements_in() -> None:
    declared = _pins(ROOT / "layers" / "requirements.in")
    locked = _pins(ROOT / "layers" / "requirements.txt")
    for name in ("boto3", "botocore"):
        assert name in declared and locked.get(name) == declared[name], name


def test_the_pair_is_the_one_the_tests_run_on() -> None:
    layer, dev = _pins(ROOT / "layers" / "requirements.txt"), _pins(ROOT / "requirements-dev.lock")
    for name in ("boto3", "botocore", "s3transfer", "jmespath"):
        assert layer[name] == dev[name], name


def test_boto3_accepts_the_pinned_botocore_and_s3transfer() -> None:
    layer = _pins(ROOT / "layers" / "requirements.txt")
    needs = {Requirement(r).name: Requirement(r) for r in requires("boto3") or [] if "extra ==" not in r}
    assert needs["botocore"].specifier.contains(layer["botocore"])
    assert needs["s3transfer"].specifier.contains(layer["s3transfer"])
