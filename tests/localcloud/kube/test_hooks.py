"""Every request goes to the ledger hook; the fault hook fails calls before or after they act."""

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from tests.localcloud.kube.conftest import ClientFactory, Fault, Recorder


def test_ledger_records_operations(admin: k8s.ApiClient, recorder: Recorder, namespace: str) -> None:
    recorder.calls.clear()
    core, apps = k8s.CoreV1Api(admin), k8s.AppsV1Api(admin)
    core.create_namespaced_config_map(namespace, k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name="cm")))
    core.read_namespaced_config_map("cm", namespace)
    apps.patch_namespaced_daemon_set("aws-node", "kube-system", {"metadata": {"labels": {"seen": "yes"}}})
    core.create_namespaced_config_map(namespace, k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name="dry")), dry_run="All")
    with pytest.raises(ApiException):
        core.read_namespaced_config_map("missing", namespace)
    k8s.CustomObjectsApi(admin).list_cluster_custom_object("crd.k8s.amazonaws.com", "v1alpha1", "eniconfigs")
    assert recorder.calls == [
        ("kubernetes:create ConfigMap", True, "ok"),
        ("kubernetes:get ConfigMap", False, "ok"),
        ("kubernetes:patch DaemonSet", True, "ok"),
        ("kubernetes:create ConfigMap", False, "ok"),
        ("kubernetes:get ConfigMap", False, "NotFound"),
        ("kubernetes:list ENIConfig", False, "ok"),
    ]


def test_refused_calls_are_recorded(make_client: ClientFactory, recorder: Recorder) -> None:
    recorder.calls.clear()
    with pytest.raises(ApiException):
        k8s.CoreV1Api(make_client("stranger")).list_namespace()
    with pytest.raises(ApiException):
        k8s.CoreV1Api(make_client("viewer")).delete_namespace("default")
    assert recorder.calls == [
        ("kubernetes:authenticate", False, "Unauthorized"),
        ("kubernetes:delete Namespace", True, "Forbidden"),
    ]


def test_fault_before_fails_without_acting(admin: k8s.ApiClient, recorder: Recorder, namespace: str) -> None:
    recorder.faults["kubernetes:create ConfigMap"] = Fault("before", "TooManyRequests")
    core = k8s.CoreV1Api(admin)
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map(namespace, k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name="cm")))
    assert err.value.status == 429 and '"reason": "TooManyRequests"' in err.value.body
    assert core.list_namespaced_config_map(namespace).items == []
    assert recorder.calls[-2] == ("kubernetes:create ConfigMap", True, "TooManyRequests")
    core.create_namespaced_config_map(namespace, k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name="cm")))  # once only


def test_fault_after_acts_then_fails(admin: k8s.ApiClient, recorder: Recorder) -> None:
    recorder.faults["kubernetes:patch DaemonSet"] = Fault("after", "InternalError")
    apps = k8s.AppsV1Api(admin)
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_daemon_set("aws-node", "kube-system", {"metadata": {"labels": {"after": "yes"}}})
    assert err.value.status == 500
    assert apps.read_namespaced_daemon_set("aws-node", "kube-system").metadata.labels["after"] == "yes"
    assert recorder.calls[-2] == ("kubernetes:patch DaemonSet", True, "InternalError")
