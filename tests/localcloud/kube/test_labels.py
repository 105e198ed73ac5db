"""Label syntax as the API server checks it (Kubernetes docs "Labels and Selectors", "Syntax and
character set"; apimachinery ValidateLabels): 422 Invalid naming the label, nothing stored."""

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException


def _config_map(name: str, labels: dict[str, str]) -> dict:  # type: ignore[type-arg]
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}, "data": {}}


@pytest.mark.parametrize(
    "labels",
    [
        {"bad key!": "x"},  # name part: alphanumerics, '-', '_', '.'
        {"-leading": "x"},  # starts and ends alphanumeric
        {"Example.COM/name": "x"},  # the prefix is a lowercase DNS-1123 subdomain
        {"/name": "x"},  # an empty prefix
        {"k" * 64: "x"},  # name part at most 63 characters
        {"role": "has space"},  # a value: empty or a name
        {"role": "v" * 64},  # a value at most 63 characters
    ],
)
def test_docs_labels_and_selectors_syntax_is_enforced(
    admin: k8s.ApiClient, namespace: str, labels: dict[str, str]
) -> None:
    core = k8s.CoreV1Api(admin)
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map(namespace, _config_map("labelled", labels))
    assert err.value.status == 422 and "metadata.labels: Invalid value" in err.value.body
    assert "labelled" not in [c.metadata.name for c in core.list_namespaced_config_map(namespace).items]


def test_docs_labels_and_selectors_valid_labels_pass(admin: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(admin)
    labels = {"app.kubernetes.io/managed-by": "podcidr", "topology.kubernetes.io/zone": "ap-southeast-1a", "empty": ""}
    created = core.create_namespaced_config_map(namespace, _config_map("labelled-ok", labels))
    assert created.metadata.labels == labels


def test_docs_labels_are_checked_on_update_too(admin: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(admin)
    core.create_namespaced_config_map(namespace, _config_map("relabelled", {"role": "web"}))
    with pytest.raises(ApiException) as err:
        core.patch_namespaced_config_map("relabelled", namespace, {"metadata": {"labels": {"role": "not valid"}}})
    assert err.value.status == 422
    assert core.read_namespaced_config_map("relabelled", namespace).metadata.labels == {"role": "web"}
