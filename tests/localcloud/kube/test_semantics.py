"""resourceVersion conflicts, custom resources and their CRD, status subresources, namespace
deletion, finalizers and owner references."""

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from localcloud.kube import KubeApiServer
from localcloud.kube.bootstrap import eniconfig_crd
from tests.localcloud.kube.conftest import CLUSTER, ClientFactory, deployment, raw

ENI = ("crd.k8s.amazonaws.com", "v1alpha1", "eniconfigs")


def eniconfig(name: str, subnet: str) -> dict:  # type: ignore[type-arg]
    return {
        "apiVersion": "crd.k8s.amazonaws.com/v1alpha1",
        "kind": "ENIConfig",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "podcidr"}},
        "spec": {"subnet": subnet, "securityGroups": ["sg-1"]},
    }


def test_stale_write_is_409(admin: k8s.ApiClient, namespace: str) -> None:
    apps = k8s.AppsV1Api(admin)
    apps.create_namespaced_deployment(namespace, deployment("web"))
    first = apps.read_namespaced_deployment("web", namespace)
    second = apps.read_namespaced_deployment("web", namespace)
    first.spec.replicas = 3
    apps.replace_namespaced_deployment("web", namespace, first)
    second.spec.replicas = 4
    with pytest.raises(ApiException) as err:
        apps.replace_namespaced_deployment("web", namespace, second)
    assert err.value.status == 409
    assert "the object has been modified; please apply your changes to the latest version" in err.value.body
    assert '"reason": "Conflict"' in err.value.body
    # a patch carrying a stale resourceVersion is refused too
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_deployment(
            "web",
            namespace,
            {"metadata": {"resourceVersion": second.metadata.resource_version}, "spec": {"replicas": 5}},
        )
    assert err.value.status == 409
    assert apps.read_namespaced_deployment("web", namespace).spec.replicas == 3


def test_eniconfig_needs_its_crd(make_client: ClientFactory, aws, entries) -> None:  # type: ignore[no-untyped-def]
    with KubeApiServer(CLUSTER, entries, auth_mode_getter=lambda: "API") as bare:
        api = make_client(target=bare)
        custom = k8s.CustomObjectsApi(api)
        with pytest.raises(ApiException) as err:
            custom.create_cluster_custom_object(*ENI, eniconfig("ap-southeast-1a", "subnet-1"))
        assert err.value.status == 404 and "the server could not find the requested resource" in err.value.body
        groups = [g.name for g in k8s.ApisApi(api).get_api_versions().groups]
        assert "crd.k8s.amazonaws.com" not in groups
        crds = k8s.ApiextensionsV1Api(api)
        crds.create_custom_resource_definition(eniconfig_crd())
        assert "crd.k8s.amazonaws.com" in [g.name for g in k8s.ApisApi(api).get_api_versions().groups]
        created = custom.create_cluster_custom_object(*ENI, eniconfig("ap-southeast-1a", "subnet-1"))
        assert created["metadata"]["uid"] and created["kind"] == "ENIConfig"
        assert created["spec"] == {"subnet": "subnet-1", "securityGroups": ["sg-1"]}
        listed = custom.list_cluster_custom_object(*ENI, label_selector="app.kubernetes.io/managed-by=podcidr")
        assert listed["kind"] == "ENIConfigList" and [i["metadata"]["name"] for i in listed["items"]] == [
            "ap-southeast-1a"
        ]
        assert listed["items"][0]["apiVersion"] == "crd.k8s.amazonaws.com/v1alpha1"
        # a dict patch on a custom object goes as JSON merge patch
        patched = custom.patch_cluster_custom_object(*ENI, "ap-southeast-1a", {"spec": {"subnet": "subnet-2"}})
        assert patched["spec"] == {"subnet": "subnet-2", "securityGroups": ["sg-1"]}
        # strategic merge on a custom resource: 415, as the API server answers
        status, body = raw(
            api,
            "PATCH",
            "/apis/crd.k8s.amazonaws.com/v1alpha1/eniconfigs/ap-southeast-1a",
            {"spec": {"subnet": "x"}},
            "application/strategic-merge-patch+json",
        )
        assert status == 415 and body["reason"] == "UnsupportedMediaType"
        assert "strategic" not in body["message"]
        with pytest.raises(ApiException) as err:
            custom.create_cluster_custom_object(*ENI, eniconfig("ap-southeast-1a", "subnet-1"))
        assert err.value.status == 409
        # deleting the CRD deletes its objects and stops serving them
        crds.delete_custom_resource_definition("eniconfigs.crd.k8s.amazonaws.com")
        with pytest.raises(ApiException) as err:
            custom.list_cluster_custom_object(*ENI)
        assert err.value.status == 404
        crds.create_custom_resource_definition(eniconfig_crd())
        assert custom.list_cluster_custom_object(*ENI)["items"] == []


def test_status_subresource(admin: k8s.ApiClient, namespace: str) -> None:
    apps = k8s.AppsV1Api(admin)
    created = apps.create_namespaced_deployment(namespace, deployment("web"))
    # writes to the main resource ignore status
    created.status = k8s.V1DeploymentStatus(replicas=7)
    created.spec.replicas = 3
    replaced = apps.replace_namespaced_deployment("web", namespace, created)
    assert replaced.spec.replicas == 3 and replaced.status.replicas is None
    # writes to /status change only status, and do not bump generation
    replaced.spec.replicas = 9
    replaced.status = k8s.V1DeploymentStatus(replicas=3, ready_replicas=3, observed_generation=2)
    status = apps.replace_namespaced_deployment_status("web", namespace, replaced)
    assert status.status.ready_replicas == 3 and status.spec.replicas == 3
    assert status.metadata.generation == replaced.metadata.generation
    patched = apps.patch_namespaced_deployment_status("web", namespace, {"status": {"availableReplicas": 3}})
    assert patched.status.available_replicas == 3 and patched.status.ready_replicas == 3
    # a kind without a status subresource has no /status
    status_code, _ = raw(admin, "GET", f"/api/v1/namespaces/{namespace}/configmaps/x/status")
    assert status_code == 404


def test_namespace_deletion_removes_objects(admin: k8s.ApiClient, namespace: str) -> None:
    core, apps = k8s.CoreV1Api(admin), k8s.AppsV1Api(admin)
    apps.create_namespaced_deployment(namespace, deployment("web"))
    core.create_namespaced_config_map(namespace, k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name="cm")))
    core.create_namespaced_config_map(
        namespace, k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name="held", finalizers=["example.com/hold"]))
    )
    gone = core.delete_namespace(namespace)
    assert gone["status"]["phase"] == "Terminating"
    assert core.read_namespace(namespace).status.phase == "Terminating"
    assert apps.list_namespaced_deployment(namespace).items == []
    assert [c.metadata.name for c in core.list_namespaced_config_map(namespace).items] == ["held"]
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map(namespace, k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name="new")))
    assert err.value.status == 403 and "because it is being terminated" in err.value.body
    core.patch_namespaced_config_map("held", namespace, {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as err:
        core.read_namespace(namespace)
    assert err.value.status == 404
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("nowhere", k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name="x")))
    assert err.value.status == 404 and 'namespaces \\"nowhere\\" not found' in err.value.body


def test_system_namespaces_cannot_be_deleted(admin: k8s.ApiClient) -> None:
    with pytest.raises(ApiException) as err:
        k8s.CoreV1Api(admin).delete_namespace("kube-system")
    assert err.value.status == 403 and "this namespace may not be deleted" in err.value.body


def test_owner_references_cascade(admin: k8s.ApiClient, namespace: str) -> None:
    apps, core = k8s.AppsV1Api(admin), k8s.CoreV1Api(admin)
    owner = apps.create_namespaced_deployment(namespace, deployment("web"))
    ref = k8s.V1OwnerReference(
        api_version="apps/v1", kind="Deployment", name="web", uid=owner.metadata.uid, controller=True
    )
    for name in ("child-1", "child-2"):
        core.create_namespaced_config_map(
            namespace, k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name=name, owner_references=[ref]))
        )
    apps.delete_namespaced_deployment("web", namespace, propagation_policy="Orphan")
    assert len(core.list_namespaced_config_map(namespace).items) == 2
    assert core.read_namespaced_config_map("child-1", namespace).metadata.owner_references is None
    owner = apps.create_namespaced_deployment(namespace, deployment("web2"))
    ref.uid, ref.name = owner.metadata.uid, "web2"
    core.patch_namespaced_config_map(
        "child-1", namespace, {"metadata": {"ownerReferences": [ref.to_dict(serialize=True)]}}
    )
    apps.delete_namespaced_deployment("web2", namespace)
    assert [c.metadata.name for c in core.list_namespaced_config_map(namespace).items] == ["child-2"]


def test_dry_run_changes_nothing(admin: k8s.ApiClient, namespace: str) -> None:
    apps = k8s.AppsV1Api(admin)
    dry = apps.create_namespaced_deployment(namespace, deployment("web"), dry_run="All")
    assert dry.metadata.name == "web" and dry.spec.strategy.type == "RollingUpdate"
    assert apps.list_namespaced_deployment(namespace).items == []
