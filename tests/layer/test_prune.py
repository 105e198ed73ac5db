"""layers/prune.py on a small layer tree: what goes, and what a kept distribution still needs stays."""

from __future__ import annotations

import ast
from pathlib import Path

import prune

ROOT = Path(__file__).resolve().parents[2]


def _distribution(root: Path, name: str, version: str, files: list[str], requires: tuple[str, ...] = ()) -> None:
    info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    lines = [f"Name: {name}", f"Version: {version}", *(f"Requires-Dist: {r}" for r in requires)]
    (info / "METADATA").write_text("\n".join(lines) + "\n")
    (info / "LICENSE").write_text("licence\n")
    (info / "INSTALLER").write_text("pip\n")
    for file in files:
        (root / file).parent.mkdir(parents=True, exist_ok=True)
        (root / file).write_text("")
    record = [f"{file},sha256=x,0" for file in files] + [f"{info.name}/METADATA,,", f"{info.name}/RECORD,,"]
    (info / "RECORD").write_text("\n".join(record) + "\n")


def _layer(root: Path) -> None:
    _distribution(
        root,
        "kubernetes",
        "37.0.1",
        ["kubernetes/__init__.py", "kubernetes/client/__init__.py", "kubernetes/aio/__init__.py"],
        ("aiohttp<4,>=3", "aiohttp-retry>=2", "typing-extensions>=4", "urllib3", "google-auth; extra == 'google-auth'"),
    )
    _distribution(
        root, "aiohttp", "3.14.5", ["aiohttp/__init__.py", "aiohttp/web.py"], ("multidict>=4", "typing-extensions")
    )
    _distribution(root, "aiohttp-retry", "2.9.1", ["aiohttp_retry/__init__.py"], ("aiohttp",))
    _distribution(root, "multidict", "7.2.1", ["multidict/__init__.py", "multidict/__init__.pyi"])
    _distribution(root, "typing_extensions", "4.16.0", ["typing_extensions.py"])
    _distribution(root, "urllib3", "2.8.0", ["urllib3/__init__.py"])
    _distribution(root, "pydantic", "2.13.5", ["pydantic/__init__.py"], ("typing-extensions>=4",))
    _distribution(root, "certifi", "2026.10.19", ["certifi/__init__.py", "certifi/tests/test_certifi.py"])
    _distribution(root, "wrapt", "2.5.2", ["wrapt/__init__.py", "wrapt/py.typed", "wrapt-stubs/__init__.pyi"])
    for service in ("ec2", "eks", "elbv2", "sts", "xray", "s3", "iam"):
        (root / "botocore" / "data" / service / "2016-11-15").mkdir(parents=True)
        (root / "botocore" / "data" / service / "2016-11-15" / "service-2.json.gz").write_bytes(b"")
    (root / "botocore" / "data" / "endpoints.json").write_text("{}")
    (root / "bin").mkdir()
    (root / "bin" / "wsdump").write_text("#!/bin/sh\n")
    (root / "podcidr" / "__pycache__").mkdir(parents=True)
    (root / "podcidr" / "__pycache__" / "cidr.cpython-311.pyc").write_bytes(b"")


def test_the_asyncio_client_and_what_only_it_needs_go_by_their_record(tmp_path: Path) -> None:
    _layer(tmp_path)
    assert prune.unused_distributions(tmp_path) == {"aiohttp", "aiohttp-retry", "multidict"}

    prune.prune(tmp_path)

    for gone in ("aiohttp", "aiohttp_retry", "multidict", "kubernetes/aio"):
        assert not (tmp_path / gone).exists(), gone
    assert not list(tmp_path.glob("aiohttp*.dist-info")) and not list(tmp_path.glob("multidict*.dist-info"))
    # typing-extensions: aiohttp needed it, but so do kubernetes and pydantic
    for kept in (
        "typing_extensions.py",
        "kubernetes/client/__init__.py",
        "urllib3/__init__.py",
        "pydantic/__init__.py",
    ):
        assert (tmp_path / kept).is_file(), kept


def test_botocore_keeps_the_services_the_functions_call_and_its_shared_files(tmp_path: Path) -> None:
    _layer(tmp_path)
    prune.prune(tmp_path)
    data = tmp_path / "botocore" / "data"
    assert sorted(p.name for p in data.iterdir()) == ["ec2", "eks", "elbv2", "endpoints.json", "sts", "xray"]


def test_tests_stubs_scripts_stale_bytecode_and_installer_files_go_metadata_and_licences_stay(tmp_path: Path) -> None:
    _layer(tmp_path)
    prune.prune(tmp_path)
    for gone in ("certifi/tests", "wrapt-stubs", "wrapt/py.typed", "bin", "podcidr/__pycache__"):
        assert not (tmp_path / gone).exists(), gone
    assert not list(tmp_path.rglob("*.pyi"))
    info = tmp_path / "certifi-2026.10.19.dist-info"
    assert sorted(p.name for p in info.iterdir()) == ["LICENSE", "METADATA"]
    assert (tmp_path / "certifi" / "__init__.py").is_file()


def _client_services(paths: list[Path]) -> set[str]:
    """Every service name the code passes to a `.client("...")` call."""
    found = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "client"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found.add(node.args[0].value)
    return found


def test_the_kept_botocore_services_are_the_ones_the_functions_create_clients_for() -> None:
    code = [*(ROOT / "layers" / "podcidr").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]
    assert _client_services(code) == prune.FUNCTION_SERVICES
