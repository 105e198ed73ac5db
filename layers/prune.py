"""Leave out of the built layer what Lambda never loads (layers/Makefile runs this after pip install).

    python3 prune.py LAYER_PYTHON_DIR

- kubernetes.aio, the official client's asyncio twin (the layer's largest folder), and the
  distributions only it needs: kubernetes declares aiohttp and aiohttp-retry for it, and podcidr
  uses the synchronous client. They go by their RECORD, as pip would uninstall them; a distribution
  another kept one still requires stays.
- botocore's data for the services no function calls: FUNCTION_SERVICES is what podcidr's code
  creates clients for (tests/layer checks it against the code and that the pruned layer still makes
  each client); boto3 and botocore themselves stay the matched, pinned pair of requirements.txt.
- the console scripts pip writes to bin/ (a layer's bin/ would be on the functions' PATH).
- tests, type stubs (.pyi, -stubs, py.typed), bytecode compiled for another interpreter
  (__pycache__) and the dist-info files only installers read (RECORD, INSTALLER, REQUESTED).
  Licences and METADATA stay.
"""

from __future__ import annotations

import re
import shutil
import sys
from email.parser import HeaderParser
from pathlib import Path

ASYNCIO_ONLY_PACKAGES = ("kubernetes/aio",)
ASYNCIO_ONLY_DISTRIBUTIONS = ("aiohttp", "aiohttp-retry")
"""What kubernetes requires for kubernetes.aio alone; their own requirements go with them."""

FUNCTION_SERVICES = frozenset({"ec2", "eks", "elbv2", "sts", "stepfunctions"})
"""The clients the functions create: podcidr.aws.clients (ec2, eks, elbv2, sts), the EKS token's sts
client (podcidr.kube.client) and CleanUpEndedExecution's stepfunctions client."""
KEPT_SERVICES = FUNCTION_SERVICES | {"xray"}
"""Plus xray: the X-Ray SDK's sampler makes an xray client where sampling rules are centralised."""

INSTALLER_FILES = ("RECORD", "INSTALLER", "REQUESTED")
TEST_FOLDERS = ("tests", "test")
SCRIPTS_FOLDER = "bin"


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def distributions(root: Path) -> dict[str, Path]:
    """Each installed distribution's dist-info folder, by normalized name."""
    found = {}
    for info in root.glob("*.dist-info"):
        metadata = HeaderParser().parsestr((info / "METADATA").read_text(encoding="utf-8"))
        found[normalized(metadata["Name"])] = info
    return found


def requirements(info: Path) -> set[str]:
    """The names a distribution requires, extras left out (markers are kept: a requirement kept by
    mistake only costs room, one dropped by mistake would break an import)."""
    metadata = HeaderParser().parsestr((info / "METADATA").read_text(encoding="utf-8"))
    names = set()
    for requirement in metadata.get_all("Requires-Dist") or []:
        if re.search(r"extra\s*==", requirement):
            continue
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
        if match:
            names.add(normalized(match.group(1)))
    return names


def unused_distributions(root: Path) -> set[str]:
    """ASYNCIO_ONLY_DISTRIBUTIONS and what they alone require."""
    installed = distributions(root)
    drop = {normalized(name) for name in ASYNCIO_ONLY_DISTRIBUTIONS} & installed.keys()
    pending = list(drop)
    while pending:
        for name in requirements(installed[pending.pop()]) & installed.keys():
            if name not in drop:
                drop.add(name)
                pending.append(name)
    asyncio_only = {normalized(name) for name in ASYNCIO_ONLY_DISTRIBUTIONS}
    while True:  # a distribution a kept one requires stays (but for kubernetes' requirements for kubernetes.aio)
        needed = set()
        for name, info in installed.items():
            if name not in drop:
                needed |= requirements(info) - (asyncio_only if name == "kubernetes" else set())
        kept_back = drop & needed
        if not kept_back:
            return drop
        drop -= kept_back


def remove_distribution(root: Path, info: Path) -> None:
    """Every file the distribution's RECORD lists, then the folders it leaves empty (pip uninstall)."""
    folders = set()
    for line in (info / "RECORD").read_text(encoding="utf-8").splitlines():
        relative = line.rsplit(",", 2)[0]
        if not relative:
            continue
        path = (root / relative).resolve()
        if root.resolve() not in path.parents:
            continue  # a RECORD entry outside the layer (../../bin/...) is not ours to remove
        if path.is_file():
            path.unlink()
        folders.add(path.parent)
    shutil.rmtree(info, ignore_errors=True)
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        while folder != root.resolve() and folder.is_dir():
            for cache in folder.glob("__pycache__"):
                shutil.rmtree(cache)
            if any(folder.iterdir()):
                break
            folder.rmdir()
            folder = folder.parent


def prune_botocore_data(root: Path, keep: frozenset[str] = KEPT_SERVICES) -> None:
    data = root / "botocore" / "data"
    for service in data.iterdir():
        if service.is_dir() and service.name not in keep:
            shutil.rmtree(service)


def prune(root: Path) -> None:
    installed = distributions(root)
    for name in sorted(unused_distributions(root)):
        remove_distribution(root, installed[name])
    for package in ASYNCIO_ONLY_PACKAGES:
        shutil.rmtree(root / package, ignore_errors=True)
    prune_botocore_data(root)
    shutil.rmtree(root / SCRIPTS_FOLDER, ignore_errors=True)
    for path in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        relative = path.relative_to(root)
        if path.is_dir() and (
            path.name == "__pycache__"
            or path.name.endswith("-stubs")
            or (path.name in TEST_FOLDERS and len(relative.parts) > 1)
        ):
            shutil.rmtree(path)
        elif path.is_file() and (
            path.suffix in (".pyi", ".pyc")
            or path.name == "py.typed"
            or (path.parent.name.endswith(".dist-info") and path.name in INSTALLER_FILES)
        ):
            path.unlink()


if __name__ == "__main__":
    prune(Path(sys.argv[1]))
