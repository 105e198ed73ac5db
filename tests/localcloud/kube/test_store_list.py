"""ObjectStore.list's in-process filter (`where`): what a controller's indexer gives it."""

from localcloud.kube import ObjectStore


def test_where_filters_before_copying_and_hands_out_copies() -> None:
    store = ObjectStore()
    store.create("v1/namespaces", {"metadata": {"name": "ns"}})
    for name, owner in (("a", "rs-1"), ("b", "rs-2"), ("c", "rs-1")):
        store.create("v1/configmaps", {"metadata": {"name": name, "labels": {"owner": owner}}}, namespace="ns")
    shown: list[str] = []

    def owned_by_rs_1(obj: dict) -> bool:  # type: ignore[type-arg]
        shown.append(obj["metadata"]["name"])
        return bool(obj["metadata"]["labels"]["owner"] == "rs-1")

    found = store.list("v1/configmaps", namespace="ns", where=owned_by_rs_1)
    assert [o["metadata"]["name"] for o in found] == ["a", "c"]
    assert sorted(shown) == ["a", "b", "c"]
    found[0]["metadata"]["labels"]["owner"] = "changed"  # a copy: the store keeps its own
    assert store.get("v1/configmaps", "a", namespace="ns")["metadata"]["labels"]["owner"] == "rs-1"
    assert [o["metadata"]["name"] for o in store.list("v1/configmaps", label_selector="owner=rs-2")] == ["b"]
