"""The CustomResourceDefinitions the AWS Load Balancer Controller's Helm chart installs that the
twin serves: TargetGroupBinding (chart crds/crds.yaml, elbv2.k8s.aws_targetgroupbindings)."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]
GROUP = "elbv2.k8s.aws"


def _schema() -> Obj:
    """The v1beta1 schema's required shape (the chart's is longer; unknown fields are pruned)."""
    string = {"type": "string"}
    return {
        "type": "object",
        "properties": {
            "apiVersion": string,
            "kind": string,
            "metadata": {"type": "object"},
            "spec": {
                "type": "object",
                "required": ["serviceRef", "targetGroupARN"],
                "properties": {
                    "targetGroupARN": {"type": "string", "minLength": 1},
                    "targetType": {"type": "string", "enum": ["instance", "ip"]},
                    "ipAddressType": {"type": "string", "enum": ["ipv4", "ipv6"]},
                    "serviceRef": {
                        "type": "object",
                        "required": ["name", "port"],
                        "properties": {
                            "name": string,
                            "port": {
                                "anyOf": [{"type": "integer"}, {"type": "string"}],
                                "x-kubernetes-int-or-string": True,
                            },
                        },
                    },
                    "networking": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                    "nodeSelector": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                },
            },
            "status": {"type": "object", "properties": {"observedGeneration": {"type": "integer", "format": "int64"}}},
        },
    }


def target_group_binding_crd() -> Obj:
    """The CRD the controller's Helm chart installs (v1beta1 stored, v1alpha1 still served)."""
    versions: list[Obj] = [
        {
            "name": name,
            "served": True,
            "storage": name == "v1beta1",
            "schema": {"openAPIV3Schema": _schema()},
            "subresources": {"status": {}},
        }
        for name in ("v1alpha1", "v1beta1")
    ]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"targetgroupbindings.{GROUP}",
            "labels": {"app.kubernetes.io/name": "aws-load-balancer-controller"},
        },
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "versions": versions,
            "names": {
                "plural": "targetgroupbindings",
                "singular": "targetgroupbinding",
                "kind": "TargetGroupBinding",
                "listKind": "TargetGroupBindingList",
                "shortNames": ["tgb"],
            },
        },
    }
