"""Setting max pods in the user data of a launch template with a custom AMI (AWS-FACTS 2;
docs/aws-facts.md "Max pods"). EKS leaves a custom AMI's bootstrap, and so its max pods, to the user
data, and neither bootstrap accounts for custom networking by itself:

- AL2023 (nodeadm): a MIME part `application/node.eks.aws` holding a NodeConfig; podcidr sets
  `spec.kubelet.config.maxPods` (every nodeadm version honours it; Plan knows the instance types,
  so a number is as good as `maxPodsExpression` and needs no newer nodeadm).
- AL2 (bootstrap.sh): `--use-max-pods false --kubelet-extra-args '--max-pods=N'` on the
  `/etc/eks/bootstrap.sh` line, in a shell script or a MIME `text/x-shellscript` part.

Anything else cannot be understood here: `UserDataNotUnderstood` says why, and Plan refuses with
the value to set.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import re
from email.message import Message
from typing import Any

import yaml

NODE_CONFIG_TYPE = "application/node.eks.aws"
SHELL_TYPES = ("text/x-shellscript", "text/x-sh")
BOOTSTRAP = "/etc/eks/bootstrap.sh"
_USE_MAX_PODS = re.compile(r"\s--use-max-pods(?:=|\s+)\S+")
_MAX_PODS = re.compile(r"\s*--max-pods(?:=|\s+)\d+")
_EXTRA_ARGS = re.compile(r"--kubelet-extra-args(?:=|\s+)(['\"])")


class UserDataNotUnderstood(Exception):
    """The user data is neither an AL2023 NodeConfig nor an AL2 bootstrap.sh call podcidr can edit."""


def decode(user_data_b64: str | None) -> str:
    if not user_data_b64:
        raise UserDataNotUnderstood("the launch template has no user data")
    try:
        return base64.b64decode(user_data_b64, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as error:
        raise UserDataNotUnderstood(f"the user data is not base64 UTF-8 text ({error})") from None


def _bootstrap_line(line: str, max_pods: int) -> str:
    line = _USE_MAX_PODS.sub("", line)
    match = _EXTRA_ARGS.search(line)
    if match:
        quote_end = match.end()
        closing = line.find(match.group(1), quote_end)
        if closing < 0:
            raise UserDataNotUnderstood("its --kubelet-extra-args value has no closing quote")
        args = _MAX_PODS.sub("", line[quote_end:closing]).strip()
        args = f"{args} --max-pods={max_pods}".strip()
        line = line[:quote_end] + args + line[closing:]
    else:
        line = f"{line} --kubelet-extra-args '--max-pods={max_pods}'"
    return f"{line} --use-max-pods false"


def _shell(script: str, max_pods: int) -> str | None:
    """The script with max pods set on its bootstrap.sh line; None without such a line."""
    lines = script.split("\n")
    found = [i for i, line in enumerate(lines) if BOOTSTRAP in line and not line.lstrip().startswith("#")]
    if not found:
        return None
    if len(found) > 1:
        raise UserDataNotUnderstood(f"it calls {BOOTSTRAP} {len(found)} times")
    i = found[0]
    if lines[i].rstrip().endswith("\\"):
        raise UserDataNotUnderstood(f"its {BOOTSTRAP} call continues over several lines")
    lines[i] = _bootstrap_line(lines[i].rstrip(), max_pods)
    return "\n".join(lines)


def _node_configs(text: str, max_pods: int) -> str | None:
    documents = [d for d in yaml.safe_load_all(text) if d is not None]
    configs = [d for d in documents if isinstance(d, dict) and d.get("kind") == "NodeConfig"]
    if not configs:
        return None
    for config in configs:
        spec: dict[str, Any] = config.setdefault("spec", {}) or {}
        kubelet = spec.setdefault("kubelet", {}) or {}
        kubelet.pop("maxPodsExpression", None)
        kubelet.setdefault("config", {})["maxPods"] = max_pods
    return yaml.safe_dump_all(documents, sort_keys=False)


def _mime(message: Message, max_pods: int) -> bool:
    changed = False
    for part in message.walk():
        if part.is_multipart():
            continue
        kind = part.get_content_type()
        payload = part.get_payload(decode=True)
        text = payload.decode("utf-8") if isinstance(payload, bytes) else str(part.get_payload())
        try:
            if kind == NODE_CONFIG_TYPE:
                edited = _node_configs(text, max_pods)
            elif kind in SHELL_TYPES:
                edited = _shell(text, max_pods)
            else:
                continue
        except yaml.YAMLError as error:
            raise UserDataNotUnderstood(f"its NodeConfig part is not YAML ({error})") from None
        if edited is not None:
            part.set_payload(edited)
            del part["Content-Transfer-Encoding"]
            changed = True
    return changed


def with_max_pods(user_data_b64: str | None, max_pods: int) -> str:
    """The launch template's user data (base64) with max pods set to `max_pods`, base64 again."""
    text = decode(user_data_b64)
    if text.lstrip().startswith("MIME-Version") or "Content-Type: multipart" in text[:500]:
        message = email.message_from_string(text, policy=email.policy.compat32)
        if not message.is_multipart() or not _mime(message, max_pods):
            raise UserDataNotUnderstood(
                f"its MIME parts hold neither a NodeConfig ({NODE_CONFIG_TYPE}) nor a {BOOTSTRAP} call"
            )
        edited = message.as_string()
    elif text.startswith("#!"):
        shell = _shell(text, max_pods)
        if shell is None:
            raise UserDataNotUnderstood(f"its script does not call {BOOTSTRAP}")
        edited = shell
    else:
        raise UserDataNotUnderstood("it is neither a MIME multi-part document nor a shell script")
    return base64.b64encode(edited.encode("utf-8")).decode("ascii")


def max_pods_set(user_data_b64: str | None) -> int | None:
    """The max pods the user data sets, if it sets one (read by the twin's nodes and by tests)."""
    try:
        text = decode(user_data_b64)
    except UserDataNotUnderstood:
        return None
    found = re.findall(r"--max-pods(?:=|\s+)(\d+)", text) or re.findall(r"maxPods:\s*(\d+)", text)
    return int(found[-1]) if found else None
