"""A nodegroup whose launch template names a custom AMI: EKS leaves max pods to its user data, so
the replacement gets a new launch template version whose user data sets the custom-networking
value (podcidr.user_data). User data podcidr cannot edit is refused at Plan with the value to set."""

from __future__ import annotations

from podcidr.errors import UnsupportedCluster
from podcidr.models.discovery import NodegroupInfo


def replacement_user_data(cluster_name: str, group: NodegroupInfo, max_pods: int | None) -> str:
    """The user data (base64) of the replacement's launch template version."""
    # Imported here: only a custom AMI's nodegroup needs it, and its PyYAML and MIME parsing cost every
    # other Plan's cold start about 30 ms (README "Cold starts and the layer").
    from podcidr.user_data import UserDataNotUnderstood, with_max_pods

    template = group.launch_template
    assert template is not None
    which = f"launch template {template.template_id or template.name} version {template.version or '$Default'}"
    if max_pods is None:
        raise UnsupportedCluster(
            f"Nodegroup '{group.name}' of cluster '{cluster_name}' runs a custom AMI ({which}), whose user data must "
            "set max pods, but its instance types are not known to EC2, so podcidr cannot compute the "
            "custom-networking value ((ENIs - 1) * (IPs per ENI - 1) + 2). Name the instance types in the launch "
            "template or the nodegroup, then run again. Nothing was changed."
        )
    try:
        return with_max_pods(template.user_data, max_pods)
    except UserDataNotUnderstood as why:
        raise UnsupportedCluster(
            f"Nodegroup '{group.name}' of cluster '{cluster_name}' runs a custom AMI ({which}) whose user data podcidr "
            f"cannot edit: {why}. Its nodes need max pods {max_pods} under custom networking. Set it in the user "
            f"data yourself (AL2023: a NodeConfig with spec.kubelet.config.maxPods: {max_pods}; AL2: "
            f"/etc/eks/bootstrap.sh ... --use-max-pods false --kubelet-extra-args '--max-pods={max_pods}'), make "
            "that version the nodegroup's, then run again. Nothing was changed."
        ) from None
