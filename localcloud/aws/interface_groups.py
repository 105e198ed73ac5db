"""A network interface's security groups are its own (twin fix to moto).

moto reports an attached interface's groups as its own plus its instance's; on EC2 each interface
has its own groups (an instance's "security groups" are those of its primary interface). The
difference matters where the groups of one interface decide something: the AWS Load Balancer
Controller reads those of a pod's ENI, which under custom networking are the ENIConfig's
(AWS-FACTS 8), not the node's.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_done = False


def patch_interface_groups() -> None:
    """Make moto's NetworkInterface.group_set the interface's own groups (idempotent)."""
    global _done
    with _lock:
        if _done:
            return
        from moto.ec2.models.elastic_network_interfaces import NetworkInterface

        def own_groups(self: Any) -> Any:
            return self._group_set

        setattr(NetworkInterface, "group_set", property(own_groups))  # noqa: B010
        _done = True
