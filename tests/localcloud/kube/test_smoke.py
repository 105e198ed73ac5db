from kubernetes import client as k8s


def test_list_namespaces(admin: k8s.ApiClient) -> None:
    names = [ns.metadata.name for ns in k8s.CoreV1Api(admin).list_namespace().items]
    assert names == ["default", "kube-node-lease", "kube-public", "kube-system"]
