"""VerifyLoadBalancers (DESIGN.md step 11) over fake_kube and botocore-stubbed ELBv2/EC2 clients, in
milliseconds (`make mutate-fast`): the test workload deployed or adopted, each check's objects, the wait for
a published DNS name and healthy targets inside the pod CIDR, the refusals, the removal and the record of a
passed verification. The same steps against the twin's controller: test_cluster_steps_on_twin.py."""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.stub import Stubber
from kubernetes.client.exceptions import ApiException

from podcidr.errors import VerificationFailed
from podcidr.models.migration import (
    FixedAddress,
    LoadBalancerCheck,
    Migration,
    NodegroupConfig,
    NodegroupReplacement,
    Taint,
)
from podcidr.steps.polling import wait_ceiling
from podcidr.steps.verify_load_balancers import (
    EXECUTION_ANNOTATION,
    MAX_REMOVE_SECONDS,
    MAX_WAIT_SECONDS,
    RECORD,
    LoadBalancerTask,
    deploy_verification_workload,
    remove_verification_workloads,
    start_load_balancers,
    verify_load_balancer,
)
from tests.fixtures.fake_kube import FakeKube
from tests.fixtures.stubbed_aws import all_answered, no_cidr_reservations, stubbed
from tests.fixtures.vpc_topology import Topology, seed_migration

NS = "podcidr-verify"
MANAGED = {"app.kubernetes.io/managed-by": "podcidr"}
EXECUTION = "arn:aws:states:us-west-2:111122223333:execution:podcidr:run-2"
POD_CIDR = "100.64.0.0/16"
SOURCES = ["172.31.0.0/16"]
LB_ARN = (
    "arn:aws:elasticloadbalancing:us-west-2:111122223333:loadbalancer/net/k8s-podcidrv-podcidrp-1a2b3c/50dc6c495c0c9188"
)
TG_ARN = "arn:aws:elasticloadbalancing:us-west-2:111122223333:targetgroup/k8s-podcidrv-podcidrp-4d5e6f/73e2d6bc24d8a067"
DNS = "k8s-podcidrv-podcidrp-1a2b3c-0123456789.elb.us-west-2.amazonaws.com"
NLB = "service.beta.kubernetes.io/aws-load-balancer-"


def _migration(*kinds: str, nodegroups: bool = True) -> Migration:
    ids = ["subnet-1", "subnet-2", "subnet-3"]
    migration = seed_migration(Topology("vpc-1", "rtb-main", "rtb-public", ids, ids, ["nat-1"], ["rtb-1"] * 3))
    migration.cluster_name = "shop"
    migration.pod_cidr.cidr = POD_CIDR
    migration.execution_arn = EXECUTION
    migration.verification.load_balancers = [LoadBalancerCheck(kind=k, source_cidrs=SOURCES) for k in kinds]  # type: ignore[arg-type]
    if nodegroups:
        config = NodegroupConfig(
            subnets=ids,
            node_role="arn:aws:iam::111122223333:role/nodes",
            scaling_config={"minSize": 1, "maxSize": 3, "desiredSize": 2},
            taints=[Taint(key="dedicated", value="web", effect="NO_SCHEDULE")],
        )
        migration.nodegroups = [NodegroupReplacement(replaced="web", by="web-podcidr", config=config)]
    return migration


def _namespace(labels: dict[str, str] | None = None, **metadata: Any) -> dict[str, Any]:
    return {"metadata": {"name": NS, "labels": labels if labels is not None else dict(MANAGED), **metadata}}


def _record(pod_cidr: str, kinds: str) -> dict[str, Any]:
    return {
        "metadata": {"name": RECORD, "namespace": "kube-system", "labels": dict(MANAGED)},
        "data": {"podCidr": pod_cidr, "loadBalancers": kinds, "verifiedAt": "2026-11-29T10:00:00Z"},
    }


def _the(kube: FakeKube, kind: str, name: str) -> dict[str, Any]:
    found = [o for o in kube.objects.get(kind, []) if o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind} {name}: {found}"
    return found[0]


# --- DeployVerificationWorkload -------------------------------------------------------------------


def test_the_workload_is_created_ours_marked_with_the_execution_and_placed_on_the_replacements() -> None:
    kube = FakeKube()
    migration = deploy_verification_workload(_migration("alb"), kube)  # type: ignore[arg-type]
    namespace = _the(kube, "Namespace", NS)
    assert namespace["metadata"]["labels"] == {**MANAGED, "app.kubernetes.io/name": "podcidr-verify"}
    assert namespace["metadata"]["annotations"] == {EXECUTION_ANNOTATION: EXECUTION}
    deployment = _the(kube, "Deployment", "podcidr-verify")
    assert deployment["metadata"]["namespace"] == NS
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["selector"] == {"matchLabels": {"app.kubernetes.io/name": "podcidr-verify"}}
    pod_spec = deployment["spec"]["template"]["spec"]
    assert pod_spec["containers"][0]["image"] == migration.verification.image
    assert pod_spec["containers"][0]["ports"][0]["containerPort"] == 80
    terms = pod_spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms["nodeSelectorTerms"] == [
        {"matchExpressions": [{"key": "eks.amazonaws.com/nodegroup", "operator": "In", "values": ["web-podcidr"]}]}
    ]
    assert pod_spec["tolerations"] == [
        {"key": "dedicated", "effect": "NoSchedule", "operator": "Equal", "value": "web"}
    ]
    assert (migration.verification.workloads, migration.changes) == ("deployed", 2)


def test_without_replaced_nodegroups_the_pods_are_not_constrained() -> None:
    kube = FakeKube()
    deploy_verification_workload(_migration("alb", nodegroups=False), kube)  # type: ignore[arg-type]
    pod_spec = _the(kube, "Deployment", "podcidr-verify")["spec"]["template"]["spec"]
    assert "affinity" not in pod_spec and "tolerations" not in pod_spec


def test_a_namespace_that_is_not_podcidrs_is_refused_and_left_alone() -> None:
    kube = FakeKube(Namespace=[_namespace(labels={"team": "web"})])
    with pytest.raises(VerificationFailed) as refused:
        deploy_verification_workload(_migration("alb"), kube)  # type: ignore[arg-type]
    assert str(refused.value) == (
        "Namespace podcidr-verify exists in cluster shop and is not podcidr's (no label "
        "app.kubernetes.io/managed-by=podcidr); podcidr will not use or delete it. Remove it or rename it."
    )
    assert "Deployment" not in kube.objects and kube.core.writes == []


def test_a_namespace_still_terminating_is_refused_until_it_is_gone() -> None:
    kube = FakeKube(Namespace=[{**_namespace(), "status": {"phase": "Terminating"}}])
    with pytest.raises(
        VerificationFailed, match="is still terminating from an earlier verification; run podcidr again"
    ):
        deploy_verification_workload(_migration("alb"), kube)  # type: ignore[arg-type]
    assert "Deployment" not in kube.objects


def test_an_adopted_namespace_becomes_this_executions_and_its_deployment_is_placed_as_now() -> None:
    old = "arn:aws:states:us-west-2:111122223333:execution:podcidr:run-1"
    kube = FakeKube(Namespace=[_namespace(annotations={EXECUTION_ANNOTATION: old})])
    first = deploy_verification_workload(_migration("alb", nodegroups=False), kube)  # type: ignore[arg-type]
    assert first.changes == 2  # the claim and the Deployment
    assert _the(kube, "Namespace", NS)["metadata"]["annotations"] == {EXECUTION_ANNOTATION: EXECUTION}
    # a re-run with nodegroups to replace: the kept Deployment is patched onto the replacements
    again = deploy_verification_workload(_migration("alb"), kube)  # type: ignore[arg-type]
    assert again.changes == 1  # the namespace is this execution's already: only the placement patch
    pod_spec = _the(kube, "Deployment", "podcidr-verify")["spec"]["template"]["spec"]
    assert pod_spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert pod_spec["tolerations"][0]["key"] == "dedicated"
    # the same placement again: nothing written
    writes = list(kube.core.writes)
    assert deploy_verification_workload(_migration("alb"), kube).changes == 0  # type: ignore[arg-type]
    assert kube.core.writes == writes and len(kube.apps.patches) == 1


def test_an_adopted_namespace_without_an_execution_arn_is_not_patched() -> None:
    kube = FakeKube(Namespace=[_namespace()])
    migration = _migration("alb")
    migration.execution_arn = None
    assert deploy_verification_workload(migration, kube).changes == 1  # type: ignore[arg-type]
    assert not any(w.startswith("patch Namespace") for w in kube.core.writes)


def test_a_namespace_listing_failure_other_than_a_conflict_is_raised() -> None:
    kube = FakeKube()
    forbidden = ApiException(status=403, reason="Forbidden")

    def refuse(body: Any) -> Any:
        raise forbidden

    kube.core.create_namespace = refuse  # type: ignore[method-assign]
    with pytest.raises(Exception) as raised:
        deploy_verification_workload(_migration("alb"), kube)  # type: ignore[arg-type]
    assert raised.value is forbidden or raised.value.__cause__ is forbidden
    assert "Deployment" not in kube.objects


def _finished() -> Migration:
    migration = _migration("alb", "private-nlb", nodegroups=False)
    migration.changes = 0
    return migration


def test_a_rerun_that_changed_nothing_over_a_recorded_verification_builds_nothing() -> None:
    kube = FakeKube(ConfigMap=[_record(POD_CIDR, "alb,private-nlb,public-nlb")])
    migration = deploy_verification_workload(_finished(), kube)  # type: ignore[arg-type]
    assert migration.verification.workloads == "verified-before"
    assert [c.status for c in migration.verification.load_balancers] == ["previously-verified"] * 2
    assert [n["metadata"]["name"] for n in kube.objects["Namespace"]] == ["default", "kube-system"]
    assert migration.changes == 0


@pytest.mark.parametrize(
    "record", [_record("100.65.0.0/16", "alb,private-nlb,public-nlb"), _record(POD_CIDR, "alb,public-nlb"), None]
)
def test_a_record_of_another_pod_cidr_or_of_fewer_kinds_or_none_verifies_again(record: dict[str, Any] | None) -> None:
    kube = FakeKube(ConfigMap=[record] if record else [])
    migration = deploy_verification_workload(_finished(), kube)  # type: ignore[arg-type]
    assert migration.verification.workloads == "deployed"
    assert [c.status for c in migration.verification.load_balancers] == [None, None]


def test_a_rerun_with_changes_made_or_nodegroups_left_verifies_again() -> None:
    kube = FakeKube(ConfigMap=[_record(POD_CIDR, "alb,private-nlb")])
    changed = _finished()
    changed.pod_subnets[0].changes = 1
    assert deploy_verification_workload(changed, kube).verification.workloads == "deployed"  # type: ignore[arg-type]
    kube = FakeKube(ConfigMap=[_record(POD_CIDR, "alb,private-nlb")])
    with_nodegroups = _migration("alb", "private-nlb")
    assert deploy_verification_workload(with_nodegroups, kube).verification.workloads == "deployed"  # type: ignore[arg-type]


def test_the_access_entry_this_execution_will_revoke_is_no_lasting_change() -> None:
    from podcidr.models.migration import ClusterAccess

    kube = FakeKube(ConfigMap=[_record(POD_CIDR, "alb,private-nlb")])
    migration = _finished()
    migration.changes = 2
    migration.cluster_access = ClusterAccess(
        principal_arn="arn:aws:iam::111122223333:role/podcidr", policy_arn="arn:p", entry_created=True, changes=2
    )
    assert deploy_verification_workload(migration, kube).verification.workloads == "verified-before"  # type: ignore[arg-type]


# --- the checks' objects --------------------------------------------------------------------------


def _deployed(*kinds: str) -> tuple[Migration, FakeKube]:
    kube = FakeKube()
    return deploy_verification_workload(_migration(*kinds), kube), kube  # type: ignore[arg-type]


def test_the_alb_and_public_nlb_are_started_before_the_replacement_and_the_private_nlb_is_not() -> None:
    migration, kube = _deployed("alb", "public-nlb", "private-nlb")
    ec2, ec2_stub = stubbed("ec2")
    with all_answered(ec2_stub):
        start_load_balancers(migration, kube, ec2)  # type: ignore[arg-type]
    assert [c.status for c in migration.verification.load_balancers] == ["provisioning", "provisioning", None]
    assert [c.changes for c in migration.verification.load_balancers] == [2, 1, 0]
    alb_service = _the(kube, "Service", "podcidr-alb")
    assert alb_service["spec"]["type"] == "ClusterIP"
    ingress = _the(kube, "Ingress", "podcidr-alb")
    assert ingress["spec"]["ingressClassName"] == "alb"
    assert ingress["metadata"]["annotations"] == {
        "alb.ingress.kubernetes.io/scheme": "internet-facing",
        "alb.ingress.kubernetes.io/target-type": "ip",
        "alb.ingress.kubernetes.io/inbound-cidrs": "172.31.0.0/16",
    }
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "podcidr-alb", "port": {"number": 80}}
    nlb = _the(kube, "Service", "podcidr-public-nlb")
    assert nlb["spec"]["type"] == "LoadBalancer"
    assert nlb["spec"]["loadBalancerClass"] == "service.k8s.aws/nlb"
    assert nlb["spec"]["loadBalancerSourceRanges"] == SOURCES
    assert nlb["spec"]["selector"] == {"app.kubernetes.io/name": "podcidr-verify"}
    assert nlb["metadata"]["annotations"] == {NLB + "nlb-target-type": "ip", NLB + "scheme": "internet-facing"}
    assert not any(s["metadata"]["name"] == "podcidr-private-nlb" for s in kube.objects["Service"])


def test_nothing_is_started_on_a_verified_before_rerun() -> None:
    kube = FakeKube(ConfigMap=[_record(POD_CIDR, "alb,private-nlb")])
    migration = deploy_verification_workload(_finished(), kube)  # type: ignore[arg-type]
    ec2, _ = stubbed("ec2")
    start_load_balancers(migration, kube, ec2)  # type: ignore[arg-type]
    assert "Service" not in kube.objects


def test_a_retried_start_adopts_the_objects_of_the_earlier_attempt() -> None:
    migration, kube = _deployed("alb")
    ec2, _ = stubbed("ec2")
    start_load_balancers(migration, kube, ec2)  # type: ignore[arg-type]
    migration.verification.load_balancers[0].status = None  # the earlier attempt's answer was lost
    start_load_balancers(migration, kube, ec2)  # type: ignore[arg-type]
    assert migration.verification.load_balancers[0].changes == 2
    assert len(kube.objects["Service"]) == 1 and len(kube.objects["Ingress"]) == 1


@pytest.mark.parametrize("sources", [[], ["10.0.0.0/8", "0.0.0.0/0"]])
def test_a_check_open_to_the_whole_internet_is_refused_before_anything_is_created(sources: list[str]) -> None:
    migration, kube = _deployed("public-nlb")
    migration.verification.load_balancers[0].source_cidrs = sources
    ec2, _ = stubbed("ec2")
    with pytest.raises(VerificationFailed) as refused:
        start_load_balancers(migration, kube, ec2)  # type: ignore[arg-type]
    assert str(refused.value).startswith(
        f"The public-nlb check has no source CIDRs other than the whole internet ({sources or 'none'}); "
        "podcidr never opens a test load balancer to everyone. Give verify.sourceCidrs"
    )
    assert "Service" not in kube.objects


def _task(kind: str = "private-nlb", **check: Any) -> LoadBalancerTask:
    return LoadBalancerTask(
        cluster_name="shop",
        pod_cidr=POD_CIDR,
        namespace=NS,
        poll_seconds=30,
        check=LoadBalancerCheck(kind=kind, source_cidrs=SOURCES, **check),  # type: ignore[arg-type]
    )


def _stub_free_addresses(stub: Stubber, taken: list[str]) -> None:
    ids = ["subnet-1", "subnet-2"]
    stub.add_response(
        "describe_subnets",
        {
            "Subnets": [
                {"SubnetId": "subnet-1", "CidrBlock": "172.31.48.0/20"},
                {"SubnetId": "subnet-2", "CidrBlock": "172.31.64.0/20"},
            ]
        },
        {"SubnetIds": ids},
    )
    stub.add_response(
        "describe_network_interfaces",
        {
            "NetworkInterfaces": [
                {"SubnetId": "subnet-1", "PrivateIpAddress": ip, "PrivateIpAddresses": [{"PrivateIpAddress": ip}]}
                for ip in taken
            ]
        },
        {"Filters": [{"Name": "subnet-id", "Values": ids}]},
    )
    no_cidr_reservations(stub, ids)


def _empty_elbv2() -> Any:
    elbv2, _ = stubbed("elbv2")
    return elbv2


def test_the_private_nlb_is_created_after_the_replacement_with_its_addresses_free_then() -> None:
    _, kube = _deployed("private-nlb")
    planned = [
        FixedAddress(subnet_id="subnet-1", ip="172.31.63.254"),
        FixedAddress(subnet_id="subnet-2", ip="172.31.79.254"),
    ]
    task = _task(fixed_addresses=planned)
    ec2, ec2_stub = stubbed("ec2")
    _stub_free_addresses(ec2_stub, taken=["172.31.63.254"])  # a new node's ENI took the first since Plan
    with all_answered(ec2_stub):
        verify_load_balancer(task, kube, _empty_elbv2(), ec2)  # type: ignore[arg-type]
    chosen = [(a.subnet_id, a.ip) for a in task.check.fixed_addresses]
    assert chosen == [("subnet-1", "172.31.63.253"), ("subnet-2", "172.31.79.254")]
    service = _the(kube, "Service", "podcidr-private-nlb")
    assert service["metadata"]["annotations"] == {
        NLB + "nlb-target-type": "ip",
        NLB + "scheme": "internal",
        NLB + "private-ipv4-addresses": "172.31.63.253, 172.31.79.254",
        NLB + "subnets": "subnet-1, subnet-2",
    }
    assert (task.check.status, task.check.changes, task.check.polls) == ("provisioning", 1, {"wait": 1})


def test_a_private_nlb_made_by_an_earlier_attempt_keeps_the_addresses_it_was_created_with() -> None:
    _, kube = _deployed("private-nlb")
    kube.add(
        "Service",
        {
            "metadata": {
                "name": "podcidr-private-nlb",
                "namespace": NS,
                "annotations": {
                    NLB + "private-ipv4-addresses": "172.31.63.250, 172.31.79.250",
                    NLB + "subnets": "subnet-1, subnet-2",
                },
            },
            "spec": {"type": "LoadBalancer"},
        },
    )
    task = _task(
        fixed_addresses=[
            FixedAddress(subnet_id="subnet-1", ip="172.31.63.254"),
            FixedAddress(subnet_id="subnet-2", ip="172.31.79.254"),
        ]
    )
    ec2, ec2_stub = stubbed("ec2")
    _stub_free_addresses(ec2_stub, taken=[])
    verify_load_balancer(task, kube, _empty_elbv2(), ec2)  # type: ignore[arg-type]
    chosen = [(a.subnet_id, a.ip) for a in task.check.fixed_addresses]
    assert chosen == [("subnet-1", "172.31.63.250"), ("subnet-2", "172.31.79.250")]
    assert task.check.changes == 0


def _published(kube: FakeKube, kind: str = "public-nlb", hostname: str = DNS) -> None:
    name = f"podcidr-{kind}"
    listed = "Ingress" if kind == "alb" else "Service"
    _the(kube, listed, name)["status"] = {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}, {"hostname": hostname}]}}


def _started(kind: str = "public-nlb") -> tuple[LoadBalancerTask, FakeKube]:
    migration, kube = _deployed(kind)
    ec2, _ = stubbed("ec2")
    start_load_balancers(migration, kube, ec2)  # type: ignore[arg-type]
    return _task(kind, **migration.verification.load_balancers[0].model_dump(exclude={"kind", "source_cidrs"})), kube


def _elbv2(targets: dict[str, str], dns: str = DNS) -> tuple[Any, Stubber]:
    elbv2, stub = stubbed("elbv2")
    other = LB_ARN.replace("1a2b3c", "ffffff")
    stub.add_response(
        "describe_load_balancers",
        {
            "LoadBalancers": [
                {"LoadBalancerArn": other, "DNSName": "other.elb.us-west-2.amazonaws.com", "LoadBalancerName": "other"},
                {"LoadBalancerArn": LB_ARN, "DNSName": dns, "LoadBalancerName": "k8s-podcidrv-podcidrp-1a2b3c"},
            ],
        },
        {},
    )
    stub.add_response(
        "describe_target_groups", {"TargetGroups": [{"TargetGroupArn": TG_ARN}]}, {"LoadBalancerArn": LB_ARN}
    )
    stub.add_response(
        "describe_target_health",
        {
            "TargetHealthDescriptions": [
                {"Target": {"Id": ip, "Port": 80}, "TargetHealth": {"State": state}} for ip, state in targets.items()
            ]
        },
        {"TargetGroupArn": TG_ARN},
    )
    return elbv2, stub


def _verify(task: LoadBalancerTask, kube: FakeKube, elbv2: Any) -> LoadBalancerTask:
    ec2, _ = stubbed("ec2")
    return verify_load_balancer(task, kube, elbv2, ec2)  # type: ignore[arg-type]


HEALTHY = {"100.64.1.10": "healthy", "100.64.2.10": "healthy", "100.64.3.10": "healthy"}


@pytest.mark.parametrize("kind", ["public-nlb", "alb"])
def test_three_healthy_targets_in_the_pod_cidr_pass_the_check(kind: str) -> None:
    task, kube = _started(kind)
    _published(kube, kind, DNS.upper())  # DNS names compare without case
    elbv2, stub = _elbv2(HEALTHY)
    with all_answered(stub):
        _verify(task, kube, elbv2)
    check = task.check
    assert (check.status, check.dns_name, check.healthy_targets) == ("done", DNS.upper(), 3)
    assert check.target_ips == sorted(HEALTHY) and check.targets_in_pod_cidr is True


def test_a_done_check_is_not_looked_at_again() -> None:
    task, kube = _started()
    task.check.status = "done"
    assert _verify(task, kube, _empty_elbv2()).check.polls == {}


def test_fewer_healthy_targets_than_replicas_keep_waiting() -> None:
    task, kube = _started()
    _published(kube)
    elbv2, _ = _elbv2({**HEALTHY, "100.64.3.10": "initial"})
    _verify(task, kube, elbv2)
    assert (task.check.status, task.check.healthy_targets, task.check.targets_in_pod_cidr) == ("provisioning", 2, True)


def test_unhealthy_targets_without_the_controllers_security_group_complaint_keep_waiting() -> None:
    task, kube = _started()
    _published(kube)
    elbv2, _ = _elbv2({**HEALTHY, "100.64.3.10": "unhealthy"})
    _verify(task, kube, elbv2)
    assert task.check.status == "provisioning"


def test_no_hostname_yet_or_no_load_balancer_listed_yet_keeps_waiting() -> None:
    task, kube = _started()
    _verify(task, kube, _empty_elbv2())
    assert (task.check.status, task.check.dns_name, task.check.polls) == ("provisioning", None, {"wait": 1})
    _published(kube)
    elbv2, stub = stubbed("elbv2")
    stub.add_response("describe_load_balancers", {"LoadBalancers": []}, {})
    _verify(task, kube, elbv2)
    assert (task.check.status, task.check.dns_name, task.check.polls) == ("provisioning", DNS, {"wait": 2})


def test_a_target_outside_the_pod_cidr_fails_the_check_naming_it() -> None:
    task, kube = _started()
    _published(kube)
    elbv2, _ = _elbv2({**HEALTHY, "172.31.50.7": "healthy", "172.31.50.6": "initial"})
    with pytest.raises(VerificationFailed) as failed:
        _verify(task, kube, elbv2)
    assert str(failed.value) == (
        "The public-nlb check failed: targets outside the pod CIDR 100.64.0.0/16: 172.31.50.6, 172.31.50.7 "
        f"(DNS name {DNS}; 4 healthy of 3 expected; targets 100.64.1.10, 100.64.2.10, 100.64.3.10, 172.31.50.6, "
        "172.31.50.7). The test workloads in namespace podcidr-verify are removed unless keepWorkloads is set."
    )
    assert task.check.targets_in_pod_cidr is False


def _event(
    reason: str,
    message: str,
    *,
    name: str = "podcidr-public-nlb",
    uid: str | None = None,
    at: str = "2026-11-30T12:00:00Z",
    kind: str = "Warning",
) -> dict[str, Any]:
    involved: dict[str, Any] = {"kind": "Service", "name": name, "namespace": NS}
    if uid:
        involved["uid"] = uid
    return {
        "metadata": {"name": f"{name}.{reason}.{at}", "namespace": NS},
        "involvedObject": involved,
        "reason": reason,
        "message": message,
        "type": kind,
        "lastTimestamp": at,
    }


SG_EVENT = "expect exactly one securityGroup tagged with kubernetes.io/cluster/shop for eni eni-0a1b2c3d"


def test_unhealthy_targets_the_controller_cannot_let_in_fail_at_once_with_its_words() -> None:
    task, kube = _started()
    _published(kube)
    kube.add("Event", _event("FailedNetworkReconcile", SG_EVENT), _event("Other", "x", name="podcidr-alb"))
    elbv2, _ = _elbv2({"100.64.1.10": "unhealthy", "100.64.2.10": "healthy"})
    with pytest.raises(VerificationFailed) as failed:
        _verify(task, kube, elbv2)
    message = str(failed.value)
    assert message.startswith(
        "The public-nlb check failed: its targets can never become healthy, because the load balancer controller "
        f"cannot let the load balancer in: Warning FailedNetworkReconcile: {SG_EVENT}. The pods' ENIs carry"
    )
    assert "fix eniConfigSecurityGroupIds (or the groups' tags) and run podcidr again" in message
    assert f"Events of podcidr-public-nlb: Warning FailedNetworkReconcile: {SG_EVENT}. The test workloads" in message
    assert "podcidr-alb" not in message.split("Events of")[1].split(".")[0]


def test_the_controllers_refusal_of_this_very_object_fails_the_check_at_once() -> None:
    task, kube = _started()
    uid = _the(kube, "Service", "podcidr-public-nlb")["metadata"]["uid"]
    kube.add(
        "Event",
        _event("FailedBuildModel", "an older refusal", uid=uid, at="2026-11-30T11:00:00Z"),
        _event("FailedBuildModel", "conflicting subnets in AZ a", uid=uid, at="2026-11-30T12:00:00Z"),
        _event("FailedBuildModel", "of the object deleted before", uid="old-uid", at="2026-11-30T13:00:00Z"),
    )
    with pytest.raises(VerificationFailed) as failed:
        _verify(task, kube, _empty_elbv2())
    assert str(failed.value).startswith(
        "The public-nlb check failed: the AWS Load Balancer Controller cannot build this load balancer: "
        "FailedBuildModel: conflicting subnets in AZ a. Nothing will change until its cause is fixed"
    )
    assert "fix it and run podcidr again (DNS name not published; 0 healthy of 3 expected; targets none)" in str(
        failed.value
    )


def test_past_the_ceiling_the_check_fails_naming_what_was_seen() -> None:
    task, kube = _started()
    ceiling = wait_ceiling(MAX_WAIT_SECONDS, 30)
    assert ceiling == 40  # 20 minutes at 30 s
    task.check.polls = {"wait": ceiling - 1}
    _verify(task, kube, _empty_elbv2())  # the last check allowed
    with pytest.raises(VerificationFailed) as failed:
        _verify(task, kube, _empty_elbv2())
    assert str(failed.value) == (
        "The public-nlb check failed: not verified after 40 checks (DNS name not published; 0 healthy of 3 "
        "expected; targets none). The test workloads in namespace podcidr-verify are removed unless "
        "keepWorkloads is set."
    )


def test_a_failed_events_listing_fails_the_check_not_the_refusal_search() -> None:
    task, kube = _started()

    def refuse(namespace: str, field_selector: str | None = None) -> Any:
        raise ApiException(status=403, reason="Forbidden")

    kube.core.list_namespaced_event = refuse  # type: ignore[method-assign]
    with pytest.raises(Exception, match="list Events"):
        _verify(task, kube, _empty_elbv2())


# --- RemoveVerificationWorkloads ------------------------------------------------------------------


def _verified(*kinds: str, keep: bool = False) -> Migration:
    migration = _migration(*kinds)
    migration.verification.keep_workloads = keep
    for check in migration.verification.load_balancers:
        check.status = "done"
    return migration


def test_the_namespace_is_deleted_and_awaited_then_the_passed_kinds_recorded() -> None:
    kube = FakeKube(Namespace=[_namespace()])
    migration = remove_verification_workloads(_verified("alb", "public-nlb"), kube)  # type: ignore[arg-type]
    assert (migration.verification.workloads, migration.changes) == ("removing", 1)
    assert kube.core.writes == ["delete Namespace podcidr-verify"]
    assert remove_verification_workloads(migration, kube).changes == 1  # type: ignore[arg-type]  # not deleted twice
    kube.core.finish_namespace_deletion(NS)
    migration = remove_verification_workloads(migration, kube)  # type: ignore[arg-type]
    assert (migration.verification.workloads, migration.changes) == ("removed", 2)
    data = _the(kube, "ConfigMap", RECORD)["data"]
    assert (data["podCidr"], data["loadBalancers"]) == (POD_CIDR, "alb,public-nlb")
    assert _the(kube, "ConfigMap", RECORD)["metadata"]["labels"] == MANAGED


def test_without_waiting_the_namespace_is_deleted_and_nothing_recorded() -> None:
    kube = FakeKube(Namespace=[_namespace()])
    migration = remove_verification_workloads(_verified("alb"), kube, wait=False)  # type: ignore[arg-type]
    assert migration.verification.workloads == "removing" and migration.polls == {}
    kube.core.finish_namespace_deletion(NS)
    assert remove_verification_workloads(migration, kube, wait=False).verification.workloads == "removed"  # type: ignore[arg-type]
    assert "ConfigMap" not in kube.objects


def test_kept_workloads_are_left_and_recorded() -> None:
    kube = FakeKube(Namespace=[_namespace()])
    migration = remove_verification_workloads(_verified("alb", keep=True), kube)  # type: ignore[arg-type]
    assert migration.verification.workloads == "kept" and kube.core.writes == ["create ConfigMap podcidr-verification"]
    assert (
        remove_verification_workloads(_verified("alb", keep=True), FakeKube(), wait=False).verification.workloads
        == "kept"
    )  # type: ignore[arg-type]


def test_a_namespace_that_is_not_podcidrs_is_never_deleted() -> None:
    kube = FakeKube(Namespace=[_namespace(labels={})])
    migration = remove_verification_workloads(_verified("alb"), kube)  # type: ignore[arg-type]
    assert migration.verification.workloads == "removed" and kube.core.writes == [] and migration.changes == 0


def test_a_namespace_gone_between_the_read_and_the_delete_is_removed() -> None:
    kube = FakeKube(Namespace=[_namespace()])

    def gone(name: str) -> Any:
        from tests.fixtures.fake_kube import not_found

        raise not_found("namespaces", name)

    kube.core.delete_namespace = gone  # type: ignore[method-assign]
    migration = remove_verification_workloads(_verified("alb"), kube)  # type: ignore[arg-type]
    assert (migration.verification.workloads, migration.changes) == ("removed", 0)


def test_nothing_is_recorded_when_no_check_passed() -> None:
    kube = FakeKube()
    migration = _migration("alb")
    remove_verification_workloads(migration, kube)  # type: ignore[arg-type]
    assert "ConfigMap" not in kube.objects and migration.changes == 0


def test_the_record_adds_kinds_for_the_same_pod_cidr_and_starts_again_for_another() -> None:
    kube = FakeKube(ConfigMap=[_record(POD_CIDR, "private-nlb")])
    migration = remove_verification_workloads(_verified("alb"), kube)  # type: ignore[arg-type]
    assert _the(kube, "ConfigMap", RECORD)["data"]["loadBalancers"] == "alb,private-nlb" and migration.changes == 1
    assert remove_verification_workloads(_verified("alb"), kube).changes == 0  # type: ignore[arg-type]  # covered
    kube = FakeKube(ConfigMap=[_record("100.65.0.0/16", "private-nlb,public-nlb")])
    remove_verification_workloads(_verified("alb"), kube)  # type: ignore[arg-type]
    data = _the(kube, "ConfigMap", RECORD)["data"]
    assert (data["podCidr"], data["loadBalancers"]) == (POD_CIDR, "alb")


def test_a_record_written_by_an_attempt_whose_answer_was_lost_is_not_counted_twice() -> None:
    kube = FakeKube()
    create = kube.core.create_namespaced_config_map

    def lost(namespace: str, body: Any) -> Any:
        create(namespace, body)
        from tests.fixtures.fake_kube import already_exists

        raise already_exists("configmaps", RECORD)

    kube.core.create_namespaced_config_map = lost  # type: ignore[method-assign]
    assert remove_verification_workloads(_verified("alb"), kube).changes == 0  # type: ignore[arg-type]
    assert _the(kube, "ConfigMap", RECORD)["data"]["loadBalancers"] == "alb"


def test_past_the_removal_ceiling_a_warning_names_what_is_left_and_the_run_goes_on() -> None:
    kube = FakeKube(Namespace=[_namespace(deletionTimestamp="2026-11-30T12:00:00Z")])
    kube.add("Service", {"metadata": {"name": "podcidr-public-nlb", "namespace": NS}})
    kube.add("Ingress", {"metadata": {"name": "podcidr-alb", "namespace": NS}})
    migration = _verified("alb", "public-nlb")
    ceiling = wait_ceiling(MAX_REMOVE_SECONDS, migration.poll_seconds)
    migration.polls["RemoveVerificationWorkloads"] = ceiling - 1
    assert remove_verification_workloads(migration, kube).verification.workloads == "removing"  # type: ignore[arg-type]
    elbv2, stub = stubbed("elbv2")
    ours = LB_ARN
    theirs = LB_ARN.replace("1a2b3c", "999999")
    stub.add_response(
        "describe_load_balancers",
        {
            "LoadBalancers": [
                {"LoadBalancerArn": ours, "DNSName": DNS, "LoadBalancerName": "k8s-podcidrv-podcidrp-1a2b3c"},
                {"LoadBalancerArn": theirs, "DNSName": "t.elb", "LoadBalancerName": "k8s-shop-web-999999"},
                {"LoadBalancerArn": "arn:other", "DNSName": "o.elb", "LoadBalancerName": "hand-made"},
            ]
        },
        {},
    )
    stub.add_response(
        "describe_tags",
        {
            "TagDescriptions": [
                {
                    "ResourceArn": ours,
                    "Tags": [
                        {"Key": "elbv2.k8s.aws/cluster", "Value": "shop"},
                        {"Key": "service.k8s.aws/stack", "Value": f"{NS}/podcidr-public-nlb"},
                    ],
                },
                {
                    "ResourceArn": theirs,
                    "Tags": [
                        {"Key": "elbv2.k8s.aws/cluster", "Value": "shop"},
                        {"Key": "ingress.k8s.aws/stack", "Value": "shop/web"},
                    ],
                },
            ]
        },
        {"ResourceArns": sorted([ours, theirs])},
    )
    with all_answered(stub):
        migration = remove_verification_workloads(migration, kube, elbv2=elbv2)  # type: ignore[arg-type]
    assert migration.verification.workloads == "removal-pending"
    assert migration.warnings == [
        f"Namespace podcidr-verify was still terminating after {ceiling} checks; its load balancers are removed by "
        "the AWS Load Balancer Controller once its Services and Ingress are gone. Check it later; left for now: "
        "Ingress podcidr-verify/podcidr-alb; Service podcidr-verify/podcidr-public-nlb; load balancer "
        f"k8s-podcidrv-podcidrp-1a2b3c ({DNS}, {ours}) of podcidr-verify/podcidr-public-nlb."
    ]
    assert _the(kube, "ConfigMap", RECORD)["data"]["loadBalancers"] == "alb,public-nlb"


def test_past_the_removal_ceiling_with_nothing_left_to_name_the_warning_ends_there() -> None:
    kube = FakeKube(Namespace=[_namespace(deletionTimestamp="2026-11-30T12:00:00Z")])
    migration = _verified("alb")
    migration.polls["RemoveVerificationWorkloads"] = wait_ceiling(MAX_REMOVE_SECONDS, migration.poll_seconds)
    migration = remove_verification_workloads(migration, kube)  # type: ignore[arg-type]
    assert migration.warnings[0].endswith("Controller once its Services and Ingress are gone. Check it later.")


# --- the survivors of the fifth mutation run (docs/mutation-testing.md) -----------------------------


def test_an_adopted_namespace_without_annotations_is_claimed_and_counted_with_the_earlier_changes() -> None:
    kube = FakeKube(Namespace=[_namespace()])  # kept by a podcidr from before the execution mark
    migration = _migration("alb")
    migration.changes = 5
    migration = deploy_verification_workload(migration, kube)  # type: ignore[arg-type]
    assert _the(kube, "Namespace", NS)["metadata"]["annotations"] == {EXECUTION_ANNOTATION: EXECUTION}
    assert migration.changes == 7  # the claim and the Deployment


def test_a_namespace_without_any_label_is_not_podcidrs_and_never_deleted() -> None:
    kube = FakeKube(Namespace=[{"metadata": {"name": NS}}])
    migration = remove_verification_workloads(_verified("alb"), kube)  # type: ignore[arg-type]
    assert migration.verification.workloads == "removed" and kube.core.writes == []


def test_the_deletion_adds_to_the_changes_made_before_and_the_first_check_is_counted_once() -> None:
    kube = FakeKube(Namespace=[_namespace()])
    migration = _verified("alb")
    migration.changes = 9
    migration = remove_verification_workloads(migration, kube)  # type: ignore[arg-type]
    assert migration.changes == 10 and migration.polls == {"RemoveVerificationWorkloads": 1}


def test_the_record_is_a_configmap_in_kube_system_with_what_was_verified_and_when() -> None:
    kube = FakeKube()
    remove_verification_workloads(_verified("public-nlb", "alb"), kube)  # type: ignore[arg-type]
    record = _the(kube, "ConfigMap", RECORD)
    assert record["apiVersion"] == "v1" and record["kind"] == "ConfigMap"
    assert record["metadata"]["namespace"] == "kube-system"
    assert sorted(record["data"]) == ["loadBalancers", "podCidr", "verifiedAt"]
    assert record["data"]["loadBalancers"] == "alb,public-nlb"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)", record["data"]["verifiedAt"])


def test_a_lasting_change_beside_a_revoked_access_entry_is_still_a_change() -> None:
    from podcidr.models.migration import ClusterAccess

    kube = FakeKube(ConfigMap=[_record(POD_CIDR, "alb,private-nlb")])
    migration = _finished()
    migration.changes = 3  # the access entry's 2 and one lasting change
    migration.pod_subnets[0].changes = 1
    migration.cluster_access = ClusterAccess(
        principal_arn="arn:aws:iam::111122223333:role/podcidr", policy_arn="arn:p", entry_created=True, changes=2
    )
    assert deploy_verification_workload(migration, kube).verification.workloads == "deployed"  # type: ignore[arg-type]


# --- the survivors of the seventh mutation run (docs/mutation-testing.md) ---------------------------


def test_the_service_port_and_the_ingress_rule_are_exactly_what_the_controller_is_given() -> None:
    migration, kube = _deployed("alb", "public-nlb")
    for check in migration.verification.load_balancers:
        check.source_cidrs = ["172.31.0.0/16", "10.20.0.0/16"]
    ec2, _ = stubbed("ec2")
    start_load_balancers(migration, kube, ec2)  # type: ignore[arg-type]
    port = [{"name": "http", "port": 80, "targetPort": 80, "protocol": "TCP"}]
    assert _the(kube, "Service", "podcidr-alb")["spec"]["ports"] == port
    assert _the(kube, "Service", "podcidr-public-nlb")["spec"]["ports"] == port
    ingress = _the(kube, "Ingress", "podcidr-alb")
    assert ingress["metadata"]["labels"] == {**MANAGED, "app.kubernetes.io/name": "podcidr-verify"}
    assert ingress["metadata"]["annotations"]["alb.ingress.kubernetes.io/inbound-cidrs"] == (
        "172.31.0.0/16,10.20.0.0/16"
    )
    assert ingress["spec"]["rules"] == [
        {
            "http": {
                "paths": [
                    {
                        "path": "/",
                        "pathType": "Prefix",
                        "backend": {"service": {"name": "podcidr-alb", "port": {"number": 80}}},
                    }
                ]
            }
        }
    ]


def test_three_healthy_targets_pass_beside_an_unhealthy_one_and_an_old_security_group_complaint() -> None:
    task, kube = _started()
    _published(kube)
    kube.add("Event", _event("FailedNetworkReconcile", SG_EVENT))
    elbv2, _ = _elbv2({**HEALTHY, "100.64.4.10": "unhealthy"})  # a replica restarting
    _verify(task, kube, elbv2)
    assert (task.check.status, task.check.healthy_targets) == ("done", 3)


def test_targets_still_registering_are_no_reason_to_heed_a_security_group_complaint() -> None:
    task, kube = _started()
    _published(kube)
    kube.add("Event", _event("FailedNetworkReconcile", SG_EVENT))
    elbv2, _ = _elbv2({**HEALTHY, "100.64.3.10": "initial"})
    _verify(task, kube, elbv2)
    assert (task.check.status, task.check.healthy_targets) == ("provisioning", 2)


def test_the_security_group_failure_says_what_to_fix_and_lists_the_events() -> None:
    task, kube = _started()
    _published(kube)
    kube.add(
        "Event",
        _event("FailedNetworkReconcile", SG_EVENT, at="2026-11-30T11:00:00Z"),
        _event("SuccessfullyReconciled", "Successfully reconciled", kind="Normal"),
    )
    elbv2, _ = _elbv2({"100.64.1.10": "unhealthy", "100.64.2.10": "healthy"})
    with pytest.raises(VerificationFailed) as failed:
        _verify(task, kube, elbv2)
    assert str(failed.value) == (
        "The public-nlb check failed: its targets can never become healthy, because the load balancer controller "
        f"cannot let the load balancer in: Warning FailedNetworkReconcile: {SG_EVENT}. The pods' ENIs carry the "
        "ENIConfigs' security groups, and with several groups exactly one must be tagged "
        "kubernetes.io/cluster/<cluster> (the cluster security group is); fix eniConfigSecurityGroupIds (or the "
        "groups' tags) and run podcidr again (DNS name "
        f"{DNS}; 1 healthy of 3 expected; targets 100.64.1.10, 100.64.2.10). Events of podcidr-public-nlb: "
        f"Warning FailedNetworkReconcile: {SG_EVENT} | Normal SuccessfullyReconciled: Successfully reconciled. "
        "The test workloads in namespace podcidr-verify are removed unless keepWorkloads is set."
    )


def test_the_refusal_says_what_to_fix_and_lists_the_events() -> None:
    task, kube = _started()
    uid = _the(kube, "Service", "podcidr-public-nlb")["metadata"]["uid"]
    kube.add("Event", _event("FailedBuildModel", "conflicting subnets in AZ a", uid=uid))
    with pytest.raises(VerificationFailed) as failed:
        _verify(task, kube, _empty_elbv2())
    assert str(failed.value) == (
        "The public-nlb check failed: the AWS Load Balancer Controller cannot build this load balancer: "
        "FailedBuildModel: conflicting subnets in AZ a. Nothing will change until its cause is fixed (for example "
        "one node subnet per Availability Zone, a free fixed address, a usable security group); fix it and run "
        "podcidr again (DNS name not published; 0 healthy of 3 expected; targets none). Events of "
        "podcidr-public-nlb: Warning FailedBuildModel: conflicting subnets in AZ a. The test workloads in "
        "namespace podcidr-verify are removed unless keepWorkloads is set."
    )


def test_a_refusal_of_another_object_is_not_this_checks() -> None:
    task, kube = _started()
    kube.add("Event", _event("FailedBuildModel", "conflicting subnets in AZ a", name="podcidr-private-nlb"))
    _verify(task, kube, _empty_elbv2())
    assert task.check.status == "provisioning"


def test_past_the_ceiling_the_failure_lists_the_objects_events() -> None:
    task, kube = _started()
    kube.add("Event", _event("EnsuringLoadBalancer", "Ensuring load balancer", kind="Normal"))
    task.check.polls = {"wait": wait_ceiling(MAX_WAIT_SECONDS, 30)}
    with pytest.raises(VerificationFailed) as failed:
        _verify(task, kube, _empty_elbv2())
    assert "Events of podcidr-public-nlb: Normal EnsuringLoadBalancer: Ensuring load balancer. The test" in str(
        failed.value
    )


def test_a_target_outside_the_pod_cidr_fails_listing_the_objects_last_five_events() -> None:
    task, kube = _started()
    _published(kube)
    kube.add("Event", *(_event(f"Step{n}", f"step {n}", kind="Normal", at=f"2026-11-30T12:0{n}:00Z") for n in range(6)))
    elbv2, _ = _elbv2({**HEALTHY, "172.31.50.7": "healthy"})
    with pytest.raises(VerificationFailed) as failed:
        _verify(task, kube, elbv2)
    listed = " | ".join(f"Normal Step{n}: step {n}" for n in range(1, 6))
    assert f"Events of podcidr-public-nlb: {listed}. The test workloads" in str(failed.value)


def test_the_deployment_and_services_are_labelled_ours_with_the_container_as_sent_and_changes_added() -> None:
    kube = FakeKube()
    migration = _migration("alb")
    migration.changes = 5
    migration.verification.load_balancers[0].changes = 3  # an earlier attempt's
    migration = deploy_verification_workload(migration, kube)  # type: ignore[arg-type]
    assert migration.changes == 7  # the namespace and the Deployment
    ours = {**MANAGED, "app.kubernetes.io/name": "podcidr-verify"}
    deployment = _the(kube, "Deployment", "podcidr-verify")
    assert deployment["metadata"]["labels"] == ours
    assert deployment["spec"]["template"]["metadata"]["labels"] == ours
    assert deployment["spec"]["template"]["spec"]["containers"] == [
        {
            "name": "web",
            "image": migration.verification.image,
            "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}],
            "readinessProbe": {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 5},
            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
        }
    ]
    ec2, _ = stubbed("ec2")
    start_load_balancers(migration, kube, ec2)  # type: ignore[arg-type]
    assert _the(kube, "Service", "podcidr-alb")["metadata"]["labels"] == ours
    assert migration.verification.load_balancers[0].changes == 5  # the Service and the Ingress


def test_a_terminating_namespace_is_refused_saying_when_to_run_again() -> None:
    kube = FakeKube(Namespace=[{**_namespace(), "status": {"phase": "Terminating"}}])
    with pytest.raises(VerificationFailed) as refused:
        deploy_verification_workload(_migration("alb"), kube)  # type: ignore[arg-type]
    assert str(refused.value) == (
        "Namespace podcidr-verify is still terminating from an earlier verification; run podcidr again in a few "
        "minutes."
    )


def test_a_namespace_without_any_label_is_refused_as_not_podcidrs() -> None:
    kube = FakeKube(Namespace=[{"metadata": {"name": NS}}])
    with pytest.raises(VerificationFailed, match="exists in cluster shop and is not podcidr's"):
        deploy_verification_workload(_migration("alb"), kube)  # type: ignore[arg-type]
    assert "Deployment" not in kube.objects
