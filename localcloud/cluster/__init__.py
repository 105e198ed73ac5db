"""The cluster twin: the scenario's EKS cluster (Kubernetes API emulator + simulated controllers).

- `cluster_twin.ClusterTwin`: the Twin component that wires it all (API server, EKS auth, ledger,
  faults, bootstrap, workloads, the controller loop, `--state`); `ClusterFleet`: one per cluster
  of the scenario's `clusters`.
- `nodes`: managed nodegroups' nodes and each node's VPC CNI (ENIs, pod addresses, #2683).
- `cni`: aws-node's effective env, the add-on's hold on it, which ENIConfig a node uses.
- `workloads`: Deployments, ReplicaSets, DaemonSets, the scheduler, the kubelet.
- `statefulsets`: StatefulSets (OrderedReady pods with a stable identity, a claim per pod).
- `volumes`: the EBS CSI driver (a claim's volume in the AZ of its pod's first node; that zone binds).
- `loadbalancers`: the AWS Load Balancer Controller (NLB Services, ALB Ingresses).
- `network`: instances, ENIs and free addresses in the twin's EC2; `instances`: max pods.
"""

from localcloud.cluster.cluster_twin import ClusterFleet, ClusterTwin, component

__all__ = ["ClusterFleet", "ClusterTwin", "component"]
