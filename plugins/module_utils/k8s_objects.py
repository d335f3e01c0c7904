# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes objects for one environment, rendered from the same spec as the Docker runtime.

Pure Python, no Ansible imports (Python 3.8+). One namespace per environment (one tenant in
one stage) with Pod Security ``restricted``, a ResourceQuota and LimitRange sized from the
plan, a ServiceAccount without token, the odoo.conf files in a Secret (they hold the database
and master passwords), non-secret environment and the database CA in a ConfigMap, a
Deployment per instance (web; cron when it runs apart), a Service with the HTTP and evented
ports (FIELD_CASES F01), a PVC (ReadWriteMany when more than one pod mounts data_dir), a
PodDisruptionBudget and an HPA when the tier says so, and NetworkPolicies: default deny, then
ingress controller -> web, Odoo -> DNS, its database, Redis and object storage.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Mapping, Sequence

from .container_spec import CA_PATH, CONF_PATH, REDIS_PASSWORD_PATH, health_command
from .plan_result import InputError
from .units import format_k8s_bytes, format_k8s_cpu, parse_cpu

PART_OF = "sysgenpro-odoo-platform"
MANAGED_BY = "sysgenpro.odoo_platform"
DEFAULTS: dict[str, Any] = {
    "namespace": "",
    "ingress_namespace": "traefik",
    "monitoring_namespace": "",
    "db_cidrs": [],
    "db_port": 5432,
    "redis_cidrs": [],
    "redis_port": 6379,
    "object_storage_cidrs": [],
    "object_storage_port": 443,
    "storage_class": "",
    "data_size": "10Gi",
    "hpa_cpu_utilization": 70,
    "image_pull_policy": "IfNotPresent",
    "pod_security_version": "latest",
}


def _labels(spec: Mapping[str, Any], component: str | None = None) -> dict[str, str]:
    labels = {
        "app.kubernetes.io/name": "odoo",
        "app.kubernetes.io/instance": spec["environment"],
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }
    if component:
        labels["app.kubernetes.io/component"] = component
    return labels


def _selector(spec: Mapping[str, Any], component: str | None = None) -> dict[str, str]:
    selector = {"app.kubernetes.io/name": "odoo", "app.kubernetes.io/instance": spec["environment"]}
    if component:
        selector["app.kubernetes.io/component"] = component
    return selector


def _meta(spec: Mapping[str, Any], name: str, namespace: str, component: str | None = None) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": _labels(spec, component)}


def _ports(instance: Mapping[str, Any]) -> list[dict[str, Any]]:
    ports = [{"name": "http", "containerPort": instance["http_port"], "protocol": "TCP"}]
    if instance.get("evented_port"):
        ports.append({"name": "evented", "containerPort": instance["evented_port"], "protocol": "TCP"})
    return ports


def _probes(spec: Mapping[str, Any], instance: Mapping[str, Any]) -> dict[str, Any]:
    if instance["exposed"]:
        handler: dict[str, Any] = {"httpGet": {"path": spec["health_path"], "port": "http"}}
    else:
        # Cron keeps HTTP on loopback only: kubelet cannot reach it, so probe from inside.
        handler = {"exec": {"command": health_command(instance["http_port"], spec["health_path"])}}
    return {
        "startupProbe": {**handler, "periodSeconds": 5, "timeoutSeconds": 5, "failureThreshold": 60},
        "readinessProbe": {**handler, "periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 3},
        "livenessProbe": {**handler, "periodSeconds": 30, "timeoutSeconds": 5, "failureThreshold": 3},
    }


def _resources(instance: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "requests": {
            "cpu": instance["cpu_request"],
            "memory": format_k8s_bytes(instance["memory_request"]),
        },
        # No CPU limit on purpose: CFS throttling stalls requests the CPU request already shares.
        "limits": {"memory": format_k8s_bytes(instance["memory_limit"])},
    }


def _deployment(
    spec: Mapping[str, Any], instance: Mapping[str, Any], namespace: str, names: Mapping[str, str], opts: Mapping
) -> dict[str, Any]:
    component = instance["component"]
    pod_labels = _labels(spec, component)
    pod_spec: dict[str, Any] = {
        "serviceAccountName": names["sa"],
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": 60,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": spec["uid"],
            "runAsGroup": spec["gid"],
            "fsGroup": spec["gid"],
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": "odoo",
                "image": spec["image"],
                "imagePullPolicy": opts["image_pull_policy"],
                "envFrom": [{"configMapRef": {"name": names["env"]}}],
                "env": [{"name": k, "value": v} for k, v in sorted(instance.get("env", {}).items())],
                "ports": _ports(instance) if instance["exposed"] else [],
                "resources": _resources(instance),
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "readOnlyRootFilesystem": True,
                    "runAsNonRoot": True,
                    "capabilities": {"drop": ["ALL"]},
                },
                **_probes(spec, instance),
                "volumeMounts": [
                    {"name": "data", "mountPath": spec["data_dir"]},
                    {"name": "config", "mountPath": CONF_PATH.rsplit("/", 1)[0], "readOnly": True},
                    {"name": "tmp", "mountPath": "/tmp"},
                ],
            }
        ],
        "volumes": [
            {"name": "data", "persistentVolumeClaim": {"claimName": names["pvc"]}},
            {"name": "config", "projected": {"defaultMode": 0o440, "sources": _config_sources(spec, instance, names)}},
            {"name": "tmp", "emptyDir": {}},
        ],
    }
    if not pod_spec["containers"][0]["ports"]:
        del pod_spec["containers"][0]["ports"]
    if component == "web" and instance["max_replicas"] > 1:
        pod_spec["affinity"] = {
            "podAntiAffinity": {
                # Preferred, not required: a required rule would block the surge pod on small clusters.
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 100,
                        "podAffinityTerm": {
                            "topologyKey": "kubernetes.io/hostname",
                            "labelSelector": {"matchLabels": _selector(spec, component)},
                        },
                    }
                ]
            }
        }
    if component == "web":
        # Surge 1, never below the wanted replicas: the plan's connection budget counts one surge pod.
        strategy: dict[str, Any] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    else:
        strategy = {"type": "Recreate"}  # one cron instance at a time (surge 0 in the plan)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(spec, f"{names['base']}-{component}", namespace, component),
        "spec": {
            "replicas": instance["replicas"],
            "revisionHistoryLimit": 3,
            "strategy": strategy,
            "selector": {"matchLabels": _selector(spec, component)},
            "template": {
                # The spec hash changes with odoo.conf, so a new Secret rolls the pods.
                "metadata": {"labels": pod_labels, "annotations": {"odoo.sysgenpro.org/spec": spec["hash"]}},
                "spec": pod_spec,
            },
        },
    }


def _config_sources(spec: Mapping[str, Any], instance: Mapping[str, Any], names: Mapping[str, str]) -> list[dict]:
    sources: list[dict[str, Any]] = [
        {"secret": {"name": names["secret"], "items": [{"key": instance["conf_file"], "path": "odoo.conf"}]}}
    ]
    if "PGSSLROOTCERT" in spec["env"]:
        sources.append(
            {"configMap": {"name": names["env"], "items": [{"key": "db-ca.crt", "path": CA_PATH.rsplit("/", 1)[1]}]}}
        )
    if "redis-password" in spec["files"]:
        path = REDIS_PASSWORD_PATH.rsplit("/", 1)[1]
        sources.append({"secret": {"name": names["secret"], "items": [{"key": "redis-password", "path": path}]}})
    return sources


def _egress(name: str, spec: Mapping[str, Any], namespace: str, to: list[dict], ports: list[dict]) -> dict[str, Any]:
    rule: dict[str, Any] = {"ports": ports}
    if to:
        rule["to"] = to
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(spec, name, namespace),
        "spec": {"podSelector": {"matchLabels": _selector(spec)}, "policyTypes": ["Egress"], "egress": [rule]},
    }


def _cidrs(values: Sequence[str]) -> list[dict[str, Any]]:
    return [{"ipBlock": {"cidr": str(cidr)}} for cidr in values]


def _quota(spec: Mapping[str, Any]) -> dict[str, str]:
    """Room for every pod at its maximum plus one surge pod of web (what a rollout needs)."""
    cpu = Fraction(0)
    memory_request = memory_limit = pods = 0
    for instance in spec["instances"]:
        copies = instance["max_replicas"] + (1 if instance["component"] == "web" else 0)
        pods += copies
        cpu += parse_cpu("cpu_request", instance["cpu_request"]) * copies
        memory_request += instance["memory_request"] * copies
        memory_limit += instance["memory_limit"] * copies
    return {
        "pods": str(pods),
        "requests.cpu": format_k8s_cpu(cpu),
        "requests.memory": format_k8s_bytes(memory_request),
        "limits.memory": format_k8s_bytes(memory_limit),
    }


def k8s_objects(spec: Mapping[str, Any], options: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every object of one environment, in apply order (namespace first)."""
    unknown = sorted(set(options or {}) - set(DEFAULTS))
    if unknown:
        raise InputError("k8s_options", unknown, "are not options of k8s_objects", ", ".join(sorted(DEFAULTS)))
    opts = {**DEFAULTS, **{k: v for k, v in (options or {}).items() if v is not None}}
    env = spec["environment"]
    namespace = str(opts["namespace"] or f"odoo-{env}")
    base = f"odoo-{env}"
    names = {"base": base, "sa": base, "secret": f"{base}-conf", "env": f"{base}-env", "pvc": f"{base}-data"}
    web = next(i for i in spec["instances"] if i["component"] == "web")
    pods_sharing_data = sum(i["max_replicas"] for i in spec["instances"])
    psa = {
        f"pod-security.kubernetes.io/{mode}{suffix}": value
        for mode in ("enforce", "audit", "warn")
        for suffix, value in (("", "restricted"), ("-version", str(opts["pod_security_version"])))
    }
    namespace_labels = {
        **psa,
        "app.kubernetes.io/part-of": PART_OF,
        "odoo.sysgenpro.org/environment": env,
        "odoo.sysgenpro.org/tenant": str(spec.get("tenant") or env),
        "odoo.sysgenpro.org/tier": str(spec.get("tier") or ""),
        "odoo.sysgenpro.org/tenancy": str(spec.get("tenancy") or ""),
    }
    pvc_spec: dict[str, Any] = {
        "accessModes": ["ReadWriteMany" if pods_sharing_data > 1 else "ReadWriteOnce"],
        "resources": {"requests": {"storage": str(opts["data_size"])}},
    }
    if opts["storage_class"]:
        pvc_spec["storageClassName"] = str(opts["storage_class"])
    config_data = dict(spec["env"])
    if "PGSSLROOTCERT" in spec["env"]:
        config_data["db-ca.crt"] = spec["files"]["db-ca.crt"]
    quota = _quota(spec)
    quota.update({"persistentvolumeclaims": "1", "requests.storage": str(opts["data_size"])})
    objects: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": namespace_labels}},
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": _meta(spec, base, namespace),
            "spec": {"hard": quota},
        },
        {
            "apiVersion": "v1",
            "kind": "LimitRange",
            "metadata": _meta(spec, base, namespace),
            "spec": {
                "limits": [
                    {
                        "type": "Container",
                        "default": {"memory": format_k8s_bytes(web["memory_limit"])},
                        "defaultRequest": {
                            "cpu": web["cpu_request"],
                            "memory": format_k8s_bytes(web["memory_request"]),
                        },
                        "max": {"memory": format_k8s_bytes(web["memory_limit"])},
                    }
                ]
            },
        },
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": _meta(spec, names["sa"], namespace),
            "automountServiceAccountToken": False,
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": _meta(spec, names["secret"], namespace),
            "stringData": {
                name: spec["files"][name]
                for name in [i["conf_file"] for i in spec["instances"]] + ["redis-password"]
                if name in spec["files"]
            },
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _meta(spec, names["env"], namespace),
            "data": config_data,
        },
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": _meta(spec, names["pvc"], namespace),
            "spec": pvc_spec,
        },
    ]
    objects.extend(_deployment(spec, instance, namespace, names, opts) for instance in spec["instances"])
    service_ports = [{"name": "http", "port": web["http_port"], "targetPort": "http", "protocol": "TCP"}]
    if web.get("evented_port"):
        service_ports.append(
            {"name": "evented", "port": web["evented_port"], "targetPort": "evented", "protocol": "TCP"}
        )
    objects.append(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta(spec, base, namespace, "web"),
            "spec": {"type": "ClusterIP", "selector": _selector(spec, "web"), "ports": service_ports},
        }
    )
    for pool in spec["instances"]:
        if pool["exposed"] and pool["component"] != "web":
            # A routed workload pool (the external-API pool): the traefik role's IngressRoute targets it.
            objects.append(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": _meta(spec, f"{base}-{pool['component']}", namespace, pool["component"]),
                    "spec": {
                        "type": "ClusterIP",
                        "selector": _selector(spec, pool["component"]),
                        "ports": [{"name": "http", "port": pool["http_port"], "targetPort": "http", "protocol": "TCP"}],
                    },
                }
            )
    min_available = spec.get("pod_disruption_budget", {}).get("min_available")
    if min_available and web["replicas"] > 1:
        objects.append(
            {
                "apiVersion": "policy/v1",
                "kind": "PodDisruptionBudget",
                "metadata": _meta(spec, f"{base}-web", namespace, "web"),
                "spec": {"minAvailable": int(min_available), "selector": {"matchLabels": _selector(spec, "web")}},
            }
        )
    for scaled in spec["instances"]:
        # The interactive web pool and a routed workload pool (API) scale between their replicas and
        # their maximum (autoscaling or peak windows) where the tier allows autoscaling.
        if not (scaled["exposed"] and spec.get("autoscaling_allowed") and scaled["max_replicas"] > scaled["replicas"]):
            continue
        component = scaled["component"]
        objects.append(
            {
                "apiVersion": "autoscaling/v2",
                "kind": "HorizontalPodAutoscaler",
                "metadata": _meta(spec, f"{base}-{component}", namespace, component),
                "spec": {
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"{base}-{component}"},
                    "minReplicas": scaled["replicas"],
                    "maxReplicas": scaled["max_replicas"],
                    "metrics": [
                        {
                            "type": "Resource",
                            "resource": {
                                "name": "cpu",
                                "target": {
                                    "type": "Utilization",
                                    "averageUtilization": int(opts["hpa_cpu_utilization"]),
                                },
                            },
                        }
                    ],
                },
            }
        )
    objects.extend(_network_policies(spec, namespace, base, web, opts))
    return objects


def _network_policies(
    spec: Mapping[str, Any], namespace: str, base: str, web: Mapping[str, Any], opts: Mapping[str, Any]
) -> list[dict[str, Any]]:
    web_ports = [{"port": p["containerPort"], "protocol": "TCP"} for p in _ports(web)]
    sources = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": str(opts["ingress_namespace"])}}}]
    if opts["monitoring_namespace"]:
        sources.append(
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": str(opts["monitoring_namespace"])}}}
        )
    policies: list[dict[str, Any]] = [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": _meta(spec, f"{base}-default-deny", namespace),
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": _meta(spec, f"{base}-ingress-web", namespace, "web"),
            "spec": {
                "podSelector": {"matchLabels": _selector(spec, "web")},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": sources, "ports": web_ports}],
            },
        },
        *[
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": _meta(spec, f"{base}-ingress-{i['component']}", namespace, i["component"]),
                "spec": {
                    "podSelector": {"matchLabels": _selector(spec, i["component"])},
                    "policyTypes": ["Ingress"],
                    "ingress": [{"from": sources, "ports": [{"port": i["http_port"], "protocol": "TCP"}]}],
                },
            }
            for i in spec["instances"]
            if i["exposed"] and i["component"] != "web"
        ],
        _egress(
            f"{base}-egress-dns",
            spec,
            namespace,
            [
                {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                }
            ],
            [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
        ),
        # Without CIDRs the database rule opens only the port: name the server's CIDR in production.
        _egress(
            f"{base}-egress-database",
            spec,
            namespace,
            _cidrs(opts["db_cidrs"]),
            [{"port": int(opts["db_port"]), "protocol": "TCP"}],
        ),
    ]
    if opts["redis_cidrs"]:
        policies.append(
            _egress(
                f"{base}-egress-redis",
                spec,
                namespace,
                _cidrs(opts["redis_cidrs"]),
                [{"port": int(opts["redis_port"]), "protocol": "TCP"}],
            )
        )
    if opts["object_storage_cidrs"]:
        policies.append(
            _egress(
                f"{base}-egress-object-storage",
                spec,
                namespace,
                _cidrs(opts["object_storage_cidrs"]),
                [{"port": int(opts["object_storage_port"]), "protocol": "TCP"}],
            )
        )
    return policies
