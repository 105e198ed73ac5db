"""Plan's check of a custom AMI's user data (plan_checks/launch_template.py): the refusals name the
nodegroup, its launch template and version, and say what to set."""

from __future__ import annotations

import base64

import pytest

from podcidr.errors import UnsupportedCluster
from podcidr.models.discovery import LaunchTemplateInfo, NodegroupInfo
from podcidr.steps.plan_checks.launch_template import replacement_user_data

AL2 = "#!/bin/bash\n/etc/eks/bootstrap.sh eksworkshop\n"


def _group(template: LaunchTemplateInfo) -> NodegroupInfo:
    return NodegroupInfo(
        name="ng-custom", status="ACTIVE", subnets=(), node_role="r", scaling_config={}, launch_template=template
    )


def _template(
    template_id: str | None, name: str | None, version: str | None, user_data: str | None
) -> LaunchTemplateInfo:
    return LaunchTemplateInfo(template_id, name, version, image_id="ami-1", user_data=user_data)


def test_unknown_instance_types_are_refused_naming_the_template_by_id_and_version() -> None:
    template = _template("lt-0abc", "custom", "7", base64.b64encode(AL2.encode()).decode())
    with pytest.raises(UnsupportedCluster) as raised:
        replacement_user_data("eksworkshop", _group(template), None)
    assert raised.value.cause == (
        "Nodegroup 'ng-custom' of cluster 'eksworkshop' runs a custom AMI (launch template lt-0abc version 7), whose "
        "user data must set max pods, but its instance types are not known to EC2, so podcidr cannot compute the "
        "custom-networking value ((ENIs - 1) * (IPs per ENI - 1) + 2). Name the instance types in the launch "
        "template or the nodegroup, then run again. Nothing was changed."
    )


def test_user_data_it_cannot_edit_is_refused_with_the_value_to_set_naming_the_template_by_name() -> None:
    template = _template(None, "custom", None, None)
    with pytest.raises(UnsupportedCluster) as raised:
        replacement_user_data("eksworkshop", _group(template), 44)
    assert raised.value.cause == (
        "Nodegroup 'ng-custom' of cluster 'eksworkshop' runs a custom AMI (launch template custom version $Default) "
        "whose user data podcidr cannot edit: the launch template has no user data. Its nodes need max pods 44 "
        "under custom networking. Set it in the user data yourself (AL2023: a NodeConfig with "
        "spec.kubelet.config.maxPods: 44; AL2: /etc/eks/bootstrap.sh ... --use-max-pods false --kubelet-extra-args "
        "'--max-pods=44'), make that version the nodegroup's, then run again. Nothing was changed."
    )


def test_user_data_it_understands_gets_the_max_pods() -> None:
    template = _template("lt-0abc", None, "3", base64.b64encode(AL2.encode()).decode())
    edited = base64.b64decode(replacement_user_data("eksworkshop", _group(template), 44)).decode()
    assert "--max-pods=44" in edited and "--use-max-pods false" in edited
