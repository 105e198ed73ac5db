"""What a new EKS cluster holds before anyone touches it, as EKS ships it.

Namespaces default, kube-system, kube-public, kube-node-lease; the `kubernetes` Service; in
kube-system the VPC CNI (`aws-node` DaemonSet, hostNetwork, env as the add-on's manifest sets it,
image by CNI version) and its ENIConfig CRD (crd.k8s.amazonaws.com, cluster-scoped, schemaless),
`kube-proxy` (DaemonSet), CoreDNS (Deployment, `kube-dns` Service and its PodDisruptionBudget),
and, when asked, the AWS Load Balancer Controller (Deployment, ServiceAccount, IngressClass `alb`).
"""

from __future__ import annotations

from typing import Any

from localcloud.kube.load_balancer_crds import target_group_binding_crd
from localcloud.kube.store import ObjectStore

Obj = dict[str, Any]

ECR_ACCOUNT = "602401143452"
MANAGED_BY_EKS = {"eks.amazonaws.com/component": "", "app.kubernetes.io/managed-by": "EKS"}


def _registry(region: str) -> str:
    return f"{ECR_ACCOUNT}.dkr.ecr.{region}.amazonaws.com"


def eniconfig_schema() -> Obj:
    """ENIConfig's openAPIV3Schema as the VPC CNI's chart ships it (charts/aws-vpc-cni/crds): unknown
    fields are kept at the top level only (x-kubernetes-preserve-unknown-fields does not reach into
    `spec`), so an unknown `spec` field is pruned, and refused under fieldValidation=Strict."""
    return {
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
        "description": "ENIConfig is the Schema for the eniconfigs API",
        "properties": {
            "apiVersion": {
                "type": "string",
                "description": "APIVersion defines the versioned schema of this representation of an object.",
            },
            "kind": {"type": "string", "description": "Kind is a string value representing the REST resource."},
            "metadata": {"type": "object"},
            "spec": {
                "type": "object",
                "description": "ENIConfigSpec defines the desired state of ENIConfig",
                "properties": {
                    "securityGroups": {"type": "array", "items": {"type": "string"}},
                    "subnet": {"type": "string"},
                },
                "required": ["subnet"],
            },
            "status": {"type": "object", "description": "ENIConfigStatus defines the observed state of ENIConfig"},
        },
    }


def eniconfig_crd() -> Obj:
    """The ENIConfig CRD as the VPC CNI installs it."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "eniconfigs.crd.k8s.amazonaws.com", "labels": {"app.kubernetes.io/name": "aws-node"}},
        "spec": {
            "scope": "Cluster",
            "group": "crd.k8s.amazonaws.com",
            "preserveUnknownFields": False,
            "versions": [
                {
                    "name": "v1alpha1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": eniconfig_schema()},
                }
            ],
            "names": {
                "plural": "eniconfigs",
                "singular": "eniconfig",
                "kind": "ENIConfig",
                "listKind": "ENIConfigList",
            },
        },
    }


def aws_node_env(cni_version: str, *, cluster_name: str, vpc_id: str) -> list[Obj]:
    """The aws-node container's env as the add-on ships it (custom networking off)."""
    plain = cni_version.split("-", 1)[0]
    values = {
        "ADDITIONAL_ENI_TAGS": "{}",
        "ANNOTATE_POD_IP": "false",
        "AWS_VPC_CNI_NODE_PORT_SUPPORT": "true",
        "AWS_VPC_ENI_MTU": "9001",
        "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "false",
        "AWS_VPC_K8S_CNI_EXTERNALSNAT": "false",
        "AWS_VPC_K8S_CNI_LOGLEVEL": "DEBUG",
        "AWS_VPC_K8S_CNI_LOG_FILE": "/host/var/log/aws-routed-eni/ipamd.log",
        "AWS_VPC_K8S_CNI_RANDOMIZESNAT": "prng",
        "AWS_VPC_K8S_CNI_VETHPREFIX": "eni",
        "AWS_VPC_K8S_PLUGIN_LOG_FILE": "/var/log/aws-routed-eni/plugin.log",
        "AWS_VPC_K8S_PLUGIN_LOG_LEVEL": "DEBUG",
        "CLUSTER_NAME": cluster_name,
        "DISABLE_INTROSPECTION": "false",
        "DISABLE_METRICS": "false",
        "DISABLE_NETWORK_RESOURCE_PROVISIONING": "false",
        "ENABLE_IPv4": "true",
        "ENABLE_IPv6": "false",
        "ENABLE_POD_ENI": "false",
        "ENABLE_PREFIX_DELEGATION": "false",
        "ENABLE_SUBNET_DISCOVERY": "true",
        "NETWORK_POLICY_ENFORCING_MODE": "standard",
        "VPC_CNI_VERSION": plain,
        "VPC_ID": vpc_id,
        "WARM_ENI_TARGET": "1",
        "WARM_PREFIX_TARGET": "1",
    }
    env: list[Obj] = [{"name": k, "value": v} for k, v in values.items()]
    env.append({"name": "MY_NODE_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}}})
    env.append({"name": "MY_POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}})
    return env


def aws_node_daemonset(cni_version: str, *, region: str, cluster_name: str, vpc_id: str) -> Obj:
    registry = _registry(region)
    labels = {"app.kubernetes.io/instance": "aws-vpc-cni", "app.kubernetes.io/name": "aws-node", "k8s-app": "aws-node"}
    host_path = [
        ("bpf-pin-path", "/sys/fs/bpf", ""),
        ("cni-bin-dir", "/opt/cni/bin", ""),
        ("cni-net-dir", "/etc/cni/net.d", ""),
        ("log-dir", "/var/log/aws-routed-eni", "DirectoryOrCreate"),
        ("run-dir", "/var/run/aws-node", "DirectoryOrCreate"),
        ("xtables-lock", "/run/xtables.lock", ""),
    ]
    probe = {
        "exec": {"command": ["/app/grpc-health-probe", "-addr=:50051", "-connect-timeout=5s", "-rpc-timeout=5s"]},
        "timeoutSeconds": 10,
        "periodSeconds": 10,
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {
            "name": "aws-node",
            "namespace": "kube-system",
            "labels": {**labels, "app.kubernetes.io/version": cni_version.split("-", 1)[0]},
        },
        "spec": {
            "selector": {"matchLabels": {"k8s-app": "aws-node"}},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%"}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "priorityClassName": "system-node-critical",
                    "serviceAccountName": "aws-node",
                    "hostNetwork": True,
                    "terminationGracePeriodSeconds": 10,
                    "tolerations": [{"operator": "Exists"}],
                    "affinity": {
                        "nodeAffinity": {
                            "requiredDuringSchedulingIgnoredDuringExecution": {
                                "nodeSelectorTerms": [
                                    {
                                        "matchExpressions": [
                                            {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                                            {
                                                "key": "kubernetes.io/arch",
                                                "operator": "In",
                                                "values": ["amd64", "arm64"],
                                            },
                                            {
                                                "key": "eks.amazonaws.com/compute-type",
                                                "operator": "NotIn",
                                                "values": ["fargate", "hybrid", "auto"],
                                            },
                                        ]
                                    }
                                ]
                            }
                        }
                    },
                    "initContainers": [
                        {
                            "name": "aws-vpc-cni-init",
                            "image": f"{registry}/amazon-k8s-cni-init:{cni_version}",
                            "env": [
                                {"name": "DISABLE_TCP_EARLY_DEMUX", "value": "false"},
                                {"name": "ENABLE_IPv6", "value": "false"},
                            ],
                            "resources": {"requests": {"cpu": "25m"}},
                            "securityContext": {"privileged": True},
                            "volumeMounts": [{"mountPath": "/host/opt/cni/bin", "name": "cni-bin-dir"}],
                        }
                    ],
                    "containers": [
                        {
                            "name": "aws-node",
                            "image": f"{registry}/amazon-k8s-cni:{cni_version}",
                            "ports": [{"containerPort": 61678, "hostPort": 61678, "name": "metrics"}],
                            "livenessProbe": {**probe, "initialDelaySeconds": 60},
                            "readinessProbe": {**probe, "initialDelaySeconds": 1},
                            "env": aws_node_env(cni_version, cluster_name=cluster_name, vpc_id=vpc_id),
                            "resources": {"requests": {"cpu": "25m"}},
                            "securityContext": {"capabilities": {"add": ["NET_ADMIN", "NET_RAW"]}},
                            "volumeMounts": [
                                {"mountPath": "/host/opt/cni/bin", "name": "cni-bin-dir"},
                                {"mountPath": "/host/etc/cni/net.d", "name": "cni-net-dir"},
                                {"mountPath": "/host/var/log/aws-routed-eni", "name": "log-dir"},
                                {"mountPath": "/var/run/aws-node", "name": "run-dir"},
                                {"mountPath": "/run/xtables.lock", "name": "xtables-lock"},
                            ],
                        },
                        {
                            "name": "aws-eks-nodeagent",
                            "image": f"{registry}/amazon/aws-network-policy-agent:v1.1.2-eksbuild.1",
                            "args": [
                                "--enable-ipv6=false",
                                "--enable-network-policy=false",
                                "--enable-cloudwatch-logs=false",
                                "--enable-policy-event-logs=false",
                                "--metrics-bind-addr=:8162",
                                "--health-probe-bind-addr=:8163",
                            ],
                            "env": [
                                {
                                    "name": "MY_NODE_NAME",
                                    "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}},
                                }
                            ],
                            "resources": {"requests": {"cpu": "25m"}},
                            "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}, "privileged": True},
                            "volumeMounts": [
                                {"mountPath": "/host/opt/cni/bin", "name": "cni-bin-dir"},
                                {"mountPath": "/sys/fs/bpf", "name": "bpf-pin-path"},
                                {"mountPath": "/var/log/aws-routed-eni", "name": "log-dir"},
                                {"mountPath": "/var/run/aws-node", "name": "run-dir"},
                            ],
                        },
                    ],
                    "volumes": [{"name": n, "hostPath": {"path": p, "type": t}} for n, p, t in host_path],
                },
            },
        },
    }


def kube_proxy_daemonset(kubernetes_version: str, *, region: str) -> Obj:
    labels = {"k8s-app": "kube-proxy"}
    return {
        "metadata": {"name": "kube-proxy", "namespace": "kube-system", "labels": {**labels, **MANAGED_BY_EKS}},
        "spec": {
            "selector": {"matchLabels": labels},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%"}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "hostNetwork": True,
                    "priorityClassName": "system-node-critical",
                    "serviceAccountName": "kube-proxy",
                    "tolerations": [{"operator": "Exists"}],
                    "containers": [
                        {
                            "name": "kube-proxy",
                            "image": f"{_registry(region)}/eks/kube-proxy:v{kubernetes_version}.0-minimal-eksbuild.1",
                            "command": ["kube-proxy", "--v=2", "--config=/var/lib/kube-proxy-config/config"],
                            "resources": {"requests": {"cpu": "100m"}},
                            "securityContext": {"privileged": True},
                        }
                    ],
                },
            },
        },
    }


def coredns(region: str) -> list[tuple[str, Obj]]:
    labels = {"k8s-app": "kube-dns", "eks.amazonaws.com/component": "coredns"}
    deployment = {
        "metadata": {
            "name": "coredns",
            "namespace": "kube-system",
            "labels": {**labels, "kubernetes.io/name": "CoreDNS"},
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "priorityClassName": "system-cluster-critical",
                    "serviceAccountName": "coredns",
                    "tolerations": [
                        {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"},
                        {"key": "CriticalAddonsOnly", "operator": "Exists"},
                    ],
                    "containers": [
                        {
                            "name": "coredns",
                            "image": f"{_registry(region)}/eks/coredns:v1.11.3-eksbuild.1",
                            "args": ["-conf", "/etc/coredns/Corefile"],
                            "ports": [
                                {"name": "dns", "containerPort": 53, "protocol": "UDP"},
                                {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
                                {"name": "metrics", "containerPort": 9153, "protocol": "TCP"},
                            ],
                            "resources": {"limits": {"memory": "170Mi"}, "requests": {"cpu": "100m", "memory": "70Mi"}},
                            "volumeMounts": [{"name": "config-volume", "mountPath": "/etc/coredns", "readOnly": True}],
                        }
                    ],
                    "volumes": [
                        {
                            "name": "config-volume",
                            "configMap": {"name": "coredns", "items": [{"key": "Corefile", "path": "Corefile"}]},
                        }
                    ],
                },
            },
        },
    }
    service = {
        "metadata": {"name": "kube-dns", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
        "spec": {
            "selector": {"k8s-app": "kube-dns"},
            "clusterIP": "10.100.0.10",
            "ports": [
                {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
            ],
        },
    }
    pdb = {
        "metadata": {"name": "coredns", "namespace": "kube-system", "labels": labels},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels}},
    }
    config = {
        "metadata": {"name": "coredns", "namespace": "kube-system", "labels": labels},
        "data": {
            "Corefile": ".:53 {\n    errors\n    health\n    kubernetes cluster.local in-addr.arpa ip6.arpa\n"
            "    forward . /etc/resolv.conf\n    cache 30\n    loop\n    reload\n    loadbalance\n}\n"
        },
    }
    return [
        ("v1/serviceaccounts", {"metadata": {"name": "coredns", "namespace": "kube-system"}}),
        ("v1/configmaps", config),
        ("apps/v1/deployments", deployment),
        ("v1/services", service),
        ("policy/v1/poddisruptionbudgets", pdb),
    ]


def load_balancer_controller_objects(region: str, cluster_name: str) -> list[tuple[str, Obj]]:
    labels = {
        "app.kubernetes.io/name": "aws-load-balancer-controller",
        "app.kubernetes.io/instance": "aws-load-balancer-controller",
    }
    deployment = {
        "metadata": {"name": "aws-load-balancer-controller", "namespace": "kube-system", "labels": labels},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": "aws-load-balancer-controller",
                    "priorityClassName": "system-cluster-critical",
                    "containers": [
                        {
                            "name": "aws-load-balancer-controller",
                            "image": "public.ecr.aws/eks/aws-load-balancer-controller:v2.8.2",
                            "args": [f"--cluster-name={cluster_name}", "--ingress-class=alb", f"--aws-region={region}"],
                            "ports": [
                                {"name": "webhook-server", "containerPort": 9443},
                                {"name": "metrics-server", "containerPort": 8080},
                            ],
                        }
                    ],
                },
            },
        },
    }
    return [
        ("apiextensions.k8s.io/v1/customresourcedefinitions", target_group_binding_crd()),
        (
            "v1/serviceaccounts",
            {"metadata": {"name": "aws-load-balancer-controller", "namespace": "kube-system", "labels": labels}},
        ),
        ("apps/v1/deployments", deployment),
        (
            "networking.k8s.io/v1/ingressclasses",
            {"metadata": {"name": "alb", "labels": labels}, "spec": {"controller": "ingress.k8s.aws/alb"}},
        ),
    ]


def bootstrap_eks_cluster(
    store: ObjectStore,
    *,
    cni_version: str | None = "v1.18.3-eksbuild.1",
    load_balancer_controller: bool = False,
    cluster_name: str = "eksworkshop",
    region: str = "us-east-1",
    vpc_id: str = "vpc-00000000000000000",
    kubernetes_version: str = "1.30",
) -> None:
    """Fill an empty store as a new EKS cluster is. `cni_version=None`: no VPC CNI (no aws-node, no
    ENIConfig CRD). Idempotent: what exists already is left alone."""
    items: list[tuple[str, Obj]] = [
        ("v1/namespaces", {"metadata": {"name": name}})
        for name in ("default", "kube-system", "kube-public", "kube-node-lease")
    ]
    items.append(
        (
            "v1/services",
            {
                "metadata": {
                    "name": "kubernetes",
                    "namespace": "default",
                    "labels": {"component": "apiserver", "provider": "kubernetes"},
                },
                "spec": {"clusterIP": "10.100.0.1", "ports": [{"name": "https", "port": 443, "targetPort": 443}]},
            },
        )
    )
    if cni_version is not None:
        items.append(("apiextensions.k8s.io/v1/customresourcedefinitions", eniconfig_crd()))
        items.append(("v1/serviceaccounts", {"metadata": {"name": "aws-node", "namespace": "kube-system"}}))
        items.append(
            (
                "apps/v1/daemonsets",
                aws_node_daemonset(cni_version, region=region, cluster_name=cluster_name, vpc_id=vpc_id),
            )
        )
    items.append(("v1/serviceaccounts", {"metadata": {"name": "kube-proxy", "namespace": "kube-system"}}))
    items.append(("apps/v1/daemonsets", kube_proxy_daemonset(kubernetes_version, region=region)))
    items.extend(coredns(region))
    if load_balancer_controller:
        items.extend(load_balancer_controller_objects(region, cluster_name))
    for key, obj in items:
        meta = obj["metadata"]
        if store.find(key, meta["name"], namespace=meta.get("namespace")) is None:
            store.create(key, obj, namespace=meta.get("namespace"))
