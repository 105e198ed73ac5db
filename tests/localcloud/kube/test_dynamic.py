"""The dynamic client (discovery-driven) works against the emulator too."""

from kubernetes import client as k8s
from kubernetes import dynamic


def test_dynamic_client(admin: k8s.ApiClient) -> None:
    dyn = dynamic.DynamicClient(admin)
    eni = dyn.resources.get(api_version="crd.k8s.amazonaws.com/v1alpha1", kind="ENIConfig")
    eni.create(
        body={
            "apiVersion": "crd.k8s.amazonaws.com/v1alpha1",
            "kind": "ENIConfig",
            "metadata": {"name": "ap-southeast-1a"},
            "spec": {"subnet": "subnet-1"},
        }
    )
    assert [i.metadata.name for i in eni.get().items] == ["ap-southeast-1a"]
    daemonsets = dyn.resources.get(api_version="apps/v1", kind="DaemonSet")
    assert daemonsets.get(name="aws-node", namespace="kube-system").spec.template.spec.hostNetwork is True
