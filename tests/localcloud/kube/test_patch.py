"""The patch types the client sends (chosen by body shape), their semantics, and 415s."""

from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from tests.localcloud.kube.conftest import deployment, raw


def env_of(ds: k8s.V1DaemonSet, container: str = "aws-node") -> dict[str, Any]:
    c = next(c for c in ds.spec.template.spec.containers if c.name == container)
    return {e.name: e.value for e in c.env}


def test_strategic_merge_env_by_name_on_aws_node(admin: k8s.ApiClient) -> None:
    apps = k8s.AppsV1Api(admin)
    before = apps.read_namespaced_daemon_set("aws-node", "kube-system")
    old_env = env_of(before)
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "aws-node",
                            "env": [
                                {"name": "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", "value": "true"},
                                {"name": "ENI_CONFIG_LABEL_DEF", "value": "topology.kubernetes.io/zone"},
                            ],
                        }
                    ]
                }
            }
        }
    }
    after = apps.patch_namespaced_daemon_set("aws-node", "kube-system", patch)  # dict -> strategic merge
    env = env_of(after)
    assert env["AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG"] == "true"
    assert env["ENI_CONFIG_LABEL_DEF"] == "topology.kubernetes.io/zone"
    assert {
        k: v for k, v in env.items() if k not in ("AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", "ENI_CONFIG_LABEL_DEF")
    } == {k: v for k, v in old_env.items() if k != "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG"}
    assert [c.name for c in after.spec.template.spec.containers] == ["aws-node", "aws-eks-nodeagent"]
    assert env_of(after, "aws-eks-nodeagent") == env_of(before, "aws-eks-nodeagent")
    assert after.metadata.generation == before.metadata.generation + 1
    # the same patch again is a no-op: same resourceVersion, same generation
    again = apps.patch_namespaced_daemon_set("aws-node", "kube-system", patch)
    assert again.metadata.resource_version == after.metadata.resource_version
    assert again.metadata.generation == after.metadata.generation


def test_strategic_merge_directives(admin: k8s.ApiClient, namespace: str) -> None:
    apps = k8s.AppsV1Api(admin)
    apps.create_namespaced_deployment(namespace, deployment("web"))
    patched = apps.patch_namespaced_deployment(
        "web",
        namespace,
        {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": "web",
                                "env": [{"name": "A", "$patch": "delete"}, {"name": "C", "value": "3"}],
                                "ports": [{"containerPort": 8080}],
                            },
                            {"name": "sidecar", "image": "busybox:1"},
                        ],
                        "volumes": [{"name": "data", "emptyDir": {}}],
                        "tolerations": [{"key": "k", "operator": "Exists"}],
                    }
                }
            }
        },
    )
    web, sidecar = patched.spec.template.spec.containers
    assert [(e.name, e.value) for e in web.env] == [("B", "2"), ("C", "3")]
    assert [p.container_port for p in web.ports] == [80, 8080]
    assert sidecar.name == "sidecar" and sidecar.image_pull_policy == "IfNotPresent"
    patched = apps.patch_namespaced_deployment(
        "web",
        namespace,
        {
            "spec": {
                "template": {
                    "spec": {
                        "tolerations": [{"key": "other", "operator": "Exists"}],  # no merge key: replaced
                        "containers": [{"name": "sidecar", "$patch": "delete"}],
                        "volumes": [{"name": "data", "$patch": "delete"}],
                    }
                }
            }
        },
    )
    spec = patched.spec.template.spec
    assert [c.name for c in spec.containers] == ["web"] and not spec.volumes
    assert [t.key for t in spec.tolerations] == ["other"]
    # null deletes a key; $patch: replace replaces a map
    patched = apps.patch_namespaced_deployment("web", namespace, {"metadata": {"labels": {"app": None, "x": "y"}}})
    assert patched.metadata.labels == {"x": "y"}
    patched = apps.patch_namespaced_deployment(
        "web", namespace, {"metadata": {"labels": {"$patch": "replace", "only": "this"}}}
    )
    assert patched.metadata.labels == {"only": "this"}


def test_service_ports_merge_by_port(admin: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(admin)
    core.create_namespaced_service(
        namespace,
        k8s.V1Service(
            metadata=k8s.V1ObjectMeta(name="s"),
            spec=k8s.V1ServiceSpec(selector={"app": "x"}, ports=[k8s.V1ServicePort(name="http", port=80)]),
        ),
    )
    patched = core.patch_namespaced_service(
        "s", namespace, {"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"name": "https", "port": 443}]}}
    )
    assert [(p.port, p.target_port, p.name) for p in patched.spec.ports] == [(80, 8080, "http"), (443, 443, "https")]


def test_merge_patch_and_json_patch(admin: k8s.ApiClient, namespace: str) -> None:
    apps = k8s.AppsV1Api(admin)
    apps.create_namespaced_deployment(namespace, deployment("web"))
    # JSON merge patch: lists are replaced whole
    merged = apps.patch_namespaced_deployment(
        "web",
        namespace,
        {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}}},
        _content_type="application/merge-patch+json",
    )
    container = merged.spec.template.spec.containers[0]
    assert container.image == "nginx:2" and container.env is None and container.ports is None
    # a list body goes as JSON patch
    patched = apps.patch_namespaced_deployment(
        "web",
        namespace,
        [
            {"op": "replace", "path": "/spec/replicas", "value": 4},
            {"op": "add", "path": "/metadata/annotations", "value": {"a": "b"}},
        ],
    )
    assert patched.spec.replicas == 4 and patched.metadata.annotations == {"a": "b"}
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_deployment("web", namespace, [{"op": "test", "path": "/spec/replicas", "value": 9}])
    assert err.value.status == 422


def test_unsupported_patch_types_are_415(admin: k8s.ApiClient, namespace: str) -> None:
    k8s.CoreV1Api(admin).create_namespaced_config_map(namespace, k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name="cm")))
    status, body = raw(admin, "PATCH", f"/api/v1/namespaces/{namespace}/configmaps/cm", '{"data":{}}', "text/plain")
    assert status == 415 and body["reason"] == "UnsupportedMediaType"
    assert "application/strategic-merge-patch+json" in body["message"]


def test_apply_patch(admin: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(admin)
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied"}, "data": {"a": "1"}}
    created = core.patch_namespaced_config_map(
        "applied", namespace, body, field_manager="podcidr", _content_type="application/apply-patch+yaml"
    )
    assert created.data == {"a": "1"}
    body["data"] = {"b": "2"}
    updated = core.patch_namespaced_config_map(
        "applied", namespace, body, field_manager="podcidr", _content_type="application/apply-patch+yaml"
    )
    assert updated.data == {"a": "1", "b": "2"}  # minimal apply: no field ownership, nothing removed
    status, err = raw(
        admin, "PATCH", f"/api/v1/namespaces/{namespace}/configmaps/applied", body, "application/apply-patch+yaml"
    )
    assert status == 422 and "fieldManager" in err["message"]
