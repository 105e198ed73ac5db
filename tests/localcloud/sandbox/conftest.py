"""`python -m localcloud up` as a user runs it: a process, then the real AWS CLI and kubectl with
the files it wrote."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from localcloud.sandbox import READY

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
UP_TIMEOUT = 600  # building the twin takes seconds, minutes on a machine shared with many


def _base_environment(home: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "KUBECONFIG"))}
    return {
        **keep,
        "HOME": str(home),  # kubectl's discovery cache and the AWS CLI's config: the test's own
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": os.pathsep.join(str(ROOT / p) for p in (".", "layers", "cli")),
        "AWS_CONFIG_FILE": str(home / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
    }


@dataclass
class Up:
    """A running `python -m localcloud up` and the files it wrote."""

    process: subprocess.Popen[str]
    directory: Path
    home: Path
    output: list[str] = field(default_factory=list)

    @property
    def env_file(self) -> Path:
        return self.directory / "twin.env"

    @property
    def kubeconfig(self) -> Path:
        return self.directory / "kubeconfig.yaml"

    @property
    def state_file(self) -> Path:
        return self.directory / "state.json"

    def environment(self) -> dict[str, str]:
        """The test's environment with the lines of --env applied (as `source twin.env` would)."""
        env = _base_environment(self.home)
        for line in self.env_file.read_text(encoding="utf-8").splitlines():
            command, _, rest = line.partition(" ")
            if command == "unset":
                for name in rest.split():
                    env.pop(name, None)
            elif command == "export":
                for pair in rest.split():
                    name, _, value = pair.partition("=")
                    env[name] = value
        return env

    def run(self, *command: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            command, env=self.environment(), capture_output=True, text=True, timeout=timeout, cwd=self.directory
        )
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done

    def kubectl(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return self.run("kubectl", *args, check=check, timeout=timeout)

    def aws(self, *args: str) -> Any:
        done = self.run("aws", *args, "--output", "json")
        return json.loads(done.stdout) if done.stdout.strip() else None

    def read_until(self, text: str, timeout: float) -> None:
        """Read the process's output until a line contains `text`."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.output.append(line)
            if text in line:
                return
        stderr = self.process.stderr.read() if self.process.poll() is not None and self.process.stderr else ""
        raise AssertionError(f"no line with {text!r}; output:\n{''.join(self.output)}\n{stderr}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise


def start_up(directory: Path, *options: str) -> Up:
    home = directory / "home"
    home.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "localcloud",
            "up",
            "--env",
            "twin.env",
            "--kubeconfig",
            "kubeconfig.yaml",
            "--state",
            "state.json",
            *options,
        ],
        cwd=directory,
        env=_base_environment(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    up = Up(process, directory, home)
    try:
        up.read_until(READY, UP_TIMEOUT)
    except BaseException:
        up.stop(signal.SIGKILL)
        raise
    return up


FAULTED_SCENARIO = """\
cluster:
  workloads:
    - {name: web}
    - {namespace: data, name: db, kind: StatefulSet, replicas: 2, volumeClaim: {size: 1Gi}}
faults:
  - {operation: ec2:DescribeSubnets, when: before, times: 1, error: ThrottlingException}
  - {operation: "kubernetes:list Pod", when: before, times: 1, error: TooManyRequests}
  - {operation: "kubernetes:list Node", when: before, times: 1, error: InternalError}
"""


@pytest.fixture(scope="package")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    """One sandbox for the package's tests: the default scenario and a StatefulSet with volumes,
    with faults that outside clients must never meet (they are the workflow's)."""
    directory = tmp_path_factory.mktemp("sandbox")
    (directory / "scenario.yaml").write_text(FAULTED_SCENARIO, encoding="utf-8")
    running = start_up(directory, "--scenario", "scenario.yaml")
    try:
        yield running
    finally:
        running.stop()
