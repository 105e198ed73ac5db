"""Discovery and version, through the client's typed APIs."""

from kubernetes import client as k8s


def test_core_and_group_discovery(admin: k8s.ApiClient) -> None:
    assert k8s.CoreApi(admin).get_api_versions().versions == ["v1"]
    groups = {g.name: [v.version for v in g.versions] for g in k8s.ApisApi(admin).get_api_versions().groups}
    assert groups == {
        "apps": ["v1"],
        "networking.k8s.io": ["v1"],
        "policy": ["v1"],
        "coordination.k8s.io": ["v1"],
        "apiextensions.k8s.io": ["v1"],
        "crd.k8s.amazonaws.com": ["v1alpha1"],
        "elbv2.k8s.aws": ["v1alpha1", "v1beta1"],
    }


def test_resource_lists(admin: k8s.ApiClient) -> None:
    core = {r.name: r for r in k8s.CoreV1Api(admin).get_api_resources().resources}
    assert {
        "namespaces",
        "pods",
        "pods/eviction",
        "pods/status",
        "nodes",
        "services",
        "endpoints",
        "configmaps",
        "events",
        "serviceaccounts",
    } <= set(core)
    assert core["pods"].namespaced and not core["nodes"].namespaced
    assert core["pods/eviction"].kind == "Eviction" and core["pods/eviction"].group == "policy"
    apps = {r.name for r in k8s.AppsV1Api(admin).get_api_resources().resources}
    assert {
        "deployments",
        "deployments/scale",
        "deployments/status",
        "daemonsets",
        "daemonsets/status",
        "replicasets",
        "replicasets/scale",
    } <= apps
    assert {r.name for r in k8s.NetworkingV1Api(admin).get_api_resources().resources} >= {"ingresses", "ingressclasses"}
    assert "poddisruptionbudgets" in {r.name for r in k8s.PolicyV1Api(admin).get_api_resources().resources}
    crd = {r.name for r in k8s.ApiextensionsV1Api(admin).get_api_resources().resources}
    assert "customresourcedefinitions" in crd
    custom = k8s.CustomObjectsApi(admin).get_api_resources("crd.k8s.amazonaws.com", "v1alpha1")
    assert [(r.name, r.kind, r.namespaced) for r in custom.resources] == [("eniconfigs", "ENIConfig", False)]


def test_version(admin: k8s.ApiClient) -> None:
    info = k8s.VersionApi(admin).get_code()
    assert info.major == "1" and info.git_version.startswith("v1.30")
