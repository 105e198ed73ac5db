"""`python -m localcloud up`: the twin kept running as the user's sandbox (DESIGN.md "The twin as a sandbox").

It builds the twin from the scenario (with the `podcidr` stack's outputs, see
localcloud.triggers), prints and writes
(`--env`) the shell lines that point the AWS CLI, boto3 and `podcidr` at the twin with the
account's root keys, writes a kubeconfig as `aws eks update-kubeconfig` writes it (`--kubeconfig`),
optionally starts a migration (`--execute INPUT_FILE`), and runs until SIGINT or SIGTERM; then it
writes `--state` and exits 0. Calls made with the printed keys (or with kubectl through the
kubeconfig) are the root's: neither faulted nor counted among the workflow's calls.

The kubeconfig's user runs `aws eks get-token` with the root's keys; its environment also sets
`AWS_ENDPOINT_URL_STS` to the region's real STS hostname, because an EKS token is a presigned STS
URL and EKS (like the twin) refuses one that points anywhere else. Nothing is sent to STS: the
token is only signed.
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from typing import IO, Any

import yaml

from localcloud.aws.server import ADMIN_ACCESS_KEY, ADMIN_SECRET_KEY
from localcloud.progress import PlainDisplay
from localcloud.scenario import Scenario
from localcloud.stepfunctions import ExecutionResult
from localcloud.twin import Twin

DEFAULT_KUBECONFIG = Path("twin.kubeconfig")
READY = "the twin is up"
"""Printed (and flushed) once everything above it is written: what scripts wait for."""


def add_parser(commands: Any) -> None:
    up = commands.add_parser(
        "up",
        help="keep a twin running as a sandbox for the AWS CLI, kubectl and podcidr",
        description="Build the twin from the scenario and keep it running until interrupted (Ctrl-C).",
    )
    up.add_argument("--scenario", type=Path, help="scenario YAML (default: the seed's topology)")
    up.add_argument("--execute", type=Path, metavar="INPUT_FILE", help="start a migration with this input once up")
    up.add_argument("--env", type=Path, metavar="FILE", help="also write the shell lines to this file")
    up.add_argument(
        "--kubeconfig", type=Path, metavar="FILE", help=f"where to write the kubeconfig (default: {DEFAULT_KUBECONFIG})"
    )
    up.add_argument("--state", type=Path, metavar="FILE", help="write the twin's state here when interrupted")
    up.add_argument("--template", type=Path, help=argparse.SUPPRESS)  # the twin's own tests


def environment(twin: Twin) -> dict[str, str]:
    """What points the AWS CLI, boto3 and `podcidr` at the twin, as the account's root."""
    return {
        "AWS_ENDPOINT_URL": twin.endpoint_url,
        "AWS_ACCESS_KEY_ID": ADMIN_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": ADMIN_SECRET_KEY,
        "AWS_DEFAULT_REGION": twin.region,
    }


def shell_lines(twin: Twin, kubeconfig: Path) -> list[str]:
    variables = " ".join(f"{name}={value}" for name, value in environment(twin).items())
    return [
        "unset AWS_PROFILE AWS_SESSION_TOKEN",  # either would take the calls elsewhere or break the keys
        f"export {variables}",
        f"export KUBECONFIG={kubeconfig.resolve()}",
    ]


def kubeconfig(twin: Twin, cluster_name: str) -> dict[str, Any]:
    """The kubeconfig `aws eks update-kubeconfig` writes for the cluster, with the root's keys."""
    eks = twin.aws.admin_session().client("eks")
    cluster = eks.describe_cluster(name=cluster_name)["cluster"]
    arn = cluster["arn"]
    region = twin.region
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [
            {
                "name": arn,
                "cluster": {
                    "server": cluster["endpoint"],
                    "certificate-authority-data": cluster["certificateAuthority"]["data"],
                },
            }
        ],
        "contexts": [{"name": arn, "context": {"cluster": arn, "user": arn}}],
        "current-context": arn,
        "users": [
            {
                "name": arn,
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "aws",
                        "args": [
                            *("--region", region, "eks", "get-token"),
                            *("--cluster-name", cluster_name, "--output", "json"),
                        ],
                        "env": [
                            {"name": "AWS_ACCESS_KEY_ID", "value": ADMIN_ACCESS_KEY},
                            {"name": "AWS_SECRET_ACCESS_KEY", "value": ADMIN_SECRET_KEY},
                            {"name": "AWS_ENDPOINT_URL_STS", "value": f"https://sts.{region}.amazonaws.com"},
                        ],
                        "interactiveMode": "Never",
                        "provideClusterInfo": False,
                    }
                },
            }
        ],
    }


class Sandbox:
    """A started twin with its stack, env and kubeconfig written; `stop()` writes --state."""

    def __init__(
        self,
        twin: Twin,
        *,
        kubeconfig_path: Path,
        env_path: Path | None = None,
        state_path: Path | None = None,
    ) -> None:
        self.twin = twin
        self.kubeconfig_path = kubeconfig_path
        self.env_path = env_path
        self.state_path = state_path
        self.execution: threading.Thread | None = None
        self.result: ExecutionResult | None = None

    def start(self, out: IO[str]) -> None:
        twin = self.twin
        twin.start()
        document = kubeconfig(twin, twin.scenario.cluster.name)
        self.kubeconfig_path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        self.kubeconfig_path.chmod(0o600)  # it holds the account's keys
        lines = shell_lines(twin, self.kubeconfig_path)
        if self.env_path is not None:
            self.env_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        out.write("\n".join(lines) + "\n")
        out.write(f"# kubeconfig for cluster {twin.scenario.cluster.name}: {self.kubeconfig_path.resolve()}\n")

    def execute(self, execution_input: Any, out: IO[str]) -> None:
        """Start a migration in the background; its progress goes to `out`."""
        display = PlainDisplay(out)

        def run() -> None:
            display.begin(1, 1, execution_input)
            for item in self.twin.follow(execution_input):
                if isinstance(item, ExecutionResult):
                    self.result = item
                    display.end(item)
                    error = f" ({item.error})" if item.error else ""
                    out.write(f"execution {self.twin.executions} ended: {item.status}{error}\n")
                else:
                    display.event(item)
            out.flush()

        self.execution = threading.Thread(target=run, name="sandbox-execution", daemon=True)
        self.execution.start()

    def stop(self) -> dict[str, Any]:
        state = self.twin.state()
        self.twin.stop()
        return state


def run(
    args: argparse.Namespace, scenario: Scenario, execution_input: Any, template: Any, out: IO[str]
) -> dict[str, Any]:
    """Bring the twin up and keep it so until SIGINT/SIGTERM; the state when it stopped."""
    stopping = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        sandbox = Sandbox(
            Twin(scenario, template=template),
            kubeconfig_path=args.kubeconfig or DEFAULT_KUBECONFIG,
            env_path=args.env,
            state_path=args.state,
        )
        sandbox.start(out)
        try:
            if execution_input is not None:
                sandbox.execute(execution_input, out)
            out.write(f"{READY}: region {scenario.region}, cluster {scenario.cluster.name}; Ctrl-C stops it\n")
            out.flush()
            while not stopping.wait(0.5):
                pass
        finally:
            state = sandbox.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return state
