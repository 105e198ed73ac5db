"""Create, read, replace, delete of each kind the workflow uses, deserialized by the typed APIs."""

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from tests.localcloud.kube.conftest import deployment, raw


def test_bootstrap_objects_parse(admin: k8s.ApiClient) -> None:
    apps = k8s.AppsV1Api(admin)
    aws_node = apps.read_namespaced_daemon_set("aws-node", "kube-system")
    assert aws_node.spec.template.spec.host_network is True
    container = next(c for c in aws_node.spec.template.spec.containers if c.name == "aws-node")
    env = {e.name: e.value for e in container.env}
    assert env["AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG"] == "false"
    assert "ENI_CONFIG_LABEL_DEF" not in env
    assert container.image.endswith("/amazon-k8s-cni:v1.18.3-eksbuild.1")
    assert aws_node.status.desired_number_scheduled == 0
    assert apps.read_namespaced_deployment("coredns", "kube-system").spec.replicas == 2
    assert apps.read_namespaced_deployment("aws-load-balancer-controller", "kube-system").spec.template.spec.containers
    assert [d.metadata.name for d in apps.list_namespaced_daemon_set("kube-system").items] == ["aws-node", "kube-proxy"]
    pdbs = k8s.PolicyV1Api(admin).list_namespaced_pod_disruption_budget("kube-system").items
    assert [p.metadata.name for p in pdbs] == ["coredns"]
    assert k8s.NetworkingV1Api(admin).read_ingress_class("alb").spec.controller == "ingress.k8s.aws/alb"
    crds = k8s.ApiextensionsV1Api(admin).list_custom_resource_definition().items
    assert [c.metadata.name for c in crds] == [
        "eniconfigs.crd.k8s.amazonaws.com",
        "targetgroupbindings.elbv2.k8s.aws",  # the AWS Load Balancer Controller's chart installs it
    ]
    assert {c.type: c.status for c in crds[0].status.conditions}["Established"] == "True"
    kube_dns = k8s.CoreV1Api(admin).read_namespaced_service("kube-dns", "kube-system")
    assert kube_dns.spec.cluster_ip == "10.100.0.10"


def test_deployment_round_trip(admin: k8s.ApiClient, namespace: str) -> None:
    apps = k8s.AppsV1Api(admin)
    created = apps.create_namespaced_deployment(namespace, deployment("web", replicas=3))
    assert created.metadata.uid and created.metadata.resource_version and created.metadata.generation == 1
    assert created.metadata.creation_timestamp is not None
    assert created.spec.strategy.type == "RollingUpdate" and created.spec.strategy.rolling_update.max_surge == "25%"
    assert created.spec.template.spec.containers[0].image_pull_policy == "IfNotPresent"
    assert created.spec.template.spec.containers[0].ports[0].protocol == "TCP"
    read = apps.read_namespaced_deployment("web", namespace)
    assert read.metadata.resource_version == created.metadata.resource_version
    read.spec.replicas = 5
    replaced = apps.replace_namespaced_deployment("web", namespace, read)
    assert replaced.spec.replicas == 5 and replaced.metadata.generation == 2
    assert int(replaced.metadata.resource_version) > int(read.metadata.resource_version)
    scale = apps.read_namespaced_deployment_scale("web", namespace)
    assert scale.spec.replicas == 5 and scale.status.selector == "app=web"
    apps.patch_namespaced_deployment_scale("web", namespace, {"spec": {"replicas": 1}})
    assert apps.read_namespaced_deployment("web", namespace).spec.replicas == 1
    listed = apps.list_namespaced_deployment(namespace)
    assert listed.kind == "DeploymentList" and [d.metadata.name for d in listed.items] == ["web"]
    status = apps.delete_namespaced_deployment("web", namespace)
    assert status["status"] == "Success" and status["details"]["name"] == "web"
    with pytest.raises(ApiException) as err:
        apps.read_namespaced_deployment("web", namespace)
    assert err.value.status == 404
    assert '"reason":"NotFound"' in err.value.body.replace(" ", "")


def test_invalid_deployment_refused(admin: k8s.ApiClient, namespace: str) -> None:
    body = deployment("bad")
    body.spec.template.metadata.labels = {"app": "other"}
    with pytest.raises(ApiException) as err:
        k8s.AppsV1Api(admin).create_namespaced_deployment(namespace, body)
    assert err.value.status == 422 and "selector` does not match template `labels`" in err.value.body


def test_service_pod_configmap_and_friends(admin: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(admin)
    svc = core.create_namespaced_service(
        namespace,
        k8s.V1Service(
            metadata=k8s.V1ObjectMeta(
                name="web", annotations={"service.beta.kubernetes.io/aws-load-balancer-scheme": "internal"}
            ),
            spec=k8s.V1ServiceSpec(
                type="LoadBalancer",
                load_balancer_class="service.k8s.aws/nlb",
                selector={"app": "web"},
                ports=[k8s.V1ServicePort(port=80, target_port=80)],
            ),
        ),
    )
    assert svc.spec.cluster_ip.startswith("10.100.") and svc.spec.ports[0].protocol == "TCP"
    assert 30000 <= svc.spec.ports[0].node_port <= 32767
    assert svc.status.load_balancer is not None
    pod = core.create_namespaced_pod(
        namespace,
        k8s.V1Pod(
            metadata=k8s.V1ObjectMeta(name="p1", labels={"app": "web"}),
            spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="c", image="nginx:latest")]),
        ),
    )
    assert pod.status.phase == "Pending" and pod.spec.containers[0].image_pull_policy == "Always"
    assert pod.spec.service_account_name == "default" and pod.status.qos_class == "BestEffort"
    deleted = core.delete_namespaced_pod("p1", namespace)
    assert isinstance(deleted, k8s.V1Pod) and deleted.metadata.name == "p1"
    core.create_namespaced_config_map(namespace, k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name="cm"), data={"k": "v"}))
    cm = core.read_namespaced_config_map("cm", namespace)
    assert cm.data == {"k": "v"} and cm.metadata.generation is None
    assert [sa.metadata.name for sa in core.list_namespaced_service_account(namespace).items] == ["default"]
    core.create_namespaced_event(
        namespace,
        k8s.CoreV1Event(
            metadata=k8s.V1ObjectMeta(name="e1"),
            involved_object=k8s.V1ObjectReference(kind="Service", name="web", namespace=namespace),
            reason="SyncLoadBalancerFailed",
            message="no subnets",
            type="Warning",
        ),
    )
    events = core.list_namespaced_event(
        namespace, field_selector="involvedObject.name=web,reason=SyncLoadBalancerFailed"
    )
    assert [e.message for e in events.items] == ["no subnets"]
    core.create_namespaced_endpoints(namespace, k8s.V1Endpoints(metadata=k8s.V1ObjectMeta(name="web")))
    assert core.read_namespaced_endpoints("web", namespace).metadata.name == "web"
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map(namespace, k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name="cm")))
    assert err.value.status == 409 and '"reason": "AlreadyExists"' in err.value.body


def test_ingress_and_pdb(admin: k8s.ApiClient, namespace: str) -> None:
    net = k8s.NetworkingV1Api(admin)
    backend = k8s.V1IngressBackend(
        service=k8s.V1IngressServiceBackend(name="web", port=k8s.V1ServiceBackendPort(number=80))
    )
    ingress = k8s.V1Ingress(
        metadata=k8s.V1ObjectMeta(name="web", annotations={"alb.ingress.kubernetes.io/target-type": "ip"}),
        spec=k8s.V1IngressSpec(
            ingress_class_name="alb",
            rules=[
                k8s.V1IngressRule(
                    http=k8s.V1HTTPIngressRuleValue(
                        paths=[k8s.V1HTTPIngressPath(path="/", path_type="Prefix", backend=backend)]
                    )
                )
            ],
        ),
    )
    created = net.create_namespaced_ingress(namespace, ingress)
    assert created.spec.ingress_class_name == "alb" and created.status.load_balancer is not None
    bad = created.to_dict(serialize=True)
    bad["metadata"] = {"name": "bad"}
    del bad["spec"]["rules"][0]["http"]["paths"][0]["pathType"]
    # the client refuses it too: send it raw
    status, body = raw(admin, "POST", f"/apis/networking.k8s.io/v1/namespaces/{namespace}/ingresses", bad)
    assert status == 422 and body["reason"] == "Invalid" and "pathType" in body["message"]
    policy = k8s.PolicyV1Api(admin)
    policy.create_namespaced_pod_disruption_budget(
        namespace,
        k8s.V1PodDisruptionBudget(
            metadata=k8s.V1ObjectMeta(name="web"),
            spec=k8s.V1PodDisruptionBudgetSpec(
                min_available=1, selector=k8s.V1LabelSelector(match_labels={"app": "web"})
            ),
        ),
    )
    pdb = policy.read_namespaced_pod_disruption_budget("web", namespace)
    assert pdb.spec.min_available == 1 and pdb.status.disruptions_allowed == 0


def test_eviction_respects_pdb(admin: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(admin)
    server_store = None  # pods are made Ready through the status subresource, as a kubelet would
    for name in ("a", "b"):
        core.create_namespaced_pod(
            namespace,
            k8s.V1Pod(
                metadata=k8s.V1ObjectMeta(name=name, labels={"app": "db"}),
                spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="c", image="db:1")]),
            ),
        )
        core.patch_namespaced_pod_status(
            name, namespace, {"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}
        )
    del server_store
    k8s.PolicyV1Api(admin).create_namespaced_pod_disruption_budget(
        namespace,
        k8s.V1PodDisruptionBudget(
            metadata=k8s.V1ObjectMeta(name="db"),
            spec=k8s.V1PodDisruptionBudgetSpec(
                min_available=1, selector=k8s.V1LabelSelector(match_labels={"app": "db"})
            ),
        ),
    )
    eviction = k8s.V1Eviction(metadata=k8s.V1ObjectMeta(name="a", namespace=namespace))
    core.create_namespaced_pod_eviction("a", namespace, eviction)
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod_eviction(
            "b", namespace, k8s.V1Eviction(metadata=k8s.V1ObjectMeta(name="b", namespace=namespace))
        )
    assert err.value.status == 429 and "disruption budget" in err.value.body
    assert [p.metadata.name for p in core.list_namespaced_pod(namespace).items] == ["b"]


def test_nodes_and_replicasets(admin: k8s.ApiClient, server, namespace: str) -> None:  # type: ignore[no-untyped-def]
    server.store.create(
        "v1/nodes",
        {
            "metadata": {
                "name": "ip-172-31-48-10.ec2.internal",
                "labels": {"topology.kubernetes.io/zone": "ap-southeast-1a"},
            },
            "status": {
                "capacity": {"pods": 58, "cpu": "8"},
                "allocatable": {"pods": 58},
                "conditions": [{"type": "Ready", "status": "True"}],
                "addresses": [{"type": "InternalIP", "address": "172.31.48.10"}],
            },
        },
        with_status=True,
    )
    core = k8s.CoreV1Api(admin)
    node = core.read_node("ip-172-31-48-10.ec2.internal")
    assert node.status.capacity["pods"] == "58" and node.status.addresses[0].address == "172.31.48.10"
    core.patch_node("ip-172-31-48-10.ec2.internal", {"spec": {"unschedulable": True}})
    assert [n.metadata.name for n in core.list_node(field_selector="spec.unschedulable=true").items] == [
        node.metadata.name
    ]
    apps = k8s.AppsV1Api(admin)
    rs = apps.create_namespaced_replica_set(
        namespace,
        k8s.V1ReplicaSet(
            metadata=k8s.V1ObjectMeta(name="web-abc"),
            spec=k8s.V1ReplicaSetSpec(
                replicas=2,
                selector=k8s.V1LabelSelector(match_labels={"app": "web"}),
                template=deployment("web").spec.template,
            ),
        ),
    )
    assert rs.status.replicas == 0
    core.delete_node(node.metadata.name)
