# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes objects for the Redis sessions (and cache) instances of one plan entry.

Pure Python, no Ansible imports (Python 3.8+). The same inputs as the host role: the plan's
``redis_servers[<server>]`` entry (its ``settings.sessions`` / ``settings.cache`` redis.conf
lines are used verbatim, never recomputed) and the tenants (environment, user, key_prefix; the
passwords never reach these objects). Per instance: a ConfigMap with redis.conf, a headless
Service, a StatefulSet of one pod (a PVC when the plan persists the instance) and a
NetworkPolicy that admits only the tenants' Odoo pods (namespace ``odoo-<environment>``,
labels of the odoo_container role) on the Redis port and denies all egress. The ACL file
(it holds password hashes) is referenced as a Secret that the role, External Secrets or a
sealed secret provides: key ``users.acl`` in ``<name>-<instance>-acl``.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

from .units import MIB, format_k8s_bytes

PART_OF = "sysgenpro-odoo-platform"
MANAGED_BY = "sysgenpro.odoo_platform"
# The official image's redis user (docker-library/redis: `useradd -r -u 999 redis`).
REDIS_UID = 999
# maxmemory counts the dataset only: client and AOF buffers, fragmentation and the copy-on-write
# of a BGREWRITEAOF/BGSAVE fork come on top (Redis docs, "Key eviction" and "Memory optimization").
OVERHEAD_FACTOR_PERCENT = 50
OVERHEAD_MIN = 32 * MIB
DEFAULTS: dict[str, Any] = {
    "namespace": "redis",
    "image": "redis:7.0.15",
    "sessions_port": 6379,
    "cache_port": 6380,
    "cache_enabled": True,
    "storage_class": "",
    "storage_size": "1Gi",
    "tls_secret": "",
}
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def memory_limit(maxmemory: int) -> int:
    """Pod memory (request = limit) for an instance: maxmemory + 50 % (at least 32 MiB), whole MiB."""
    overhead = max(maxmemory * OVERHEAD_FACTOR_PERCENT // 100, OVERHEAD_MIN)
    return -(-(maxmemory + overhead) // MIB) * MIB


def redis_conf(plan_instance: Mapping[str, Any], port: int, tls: bool) -> str:
    """redis.conf of a pod: the role's security baseline, then the plan's sizing lines verbatim."""
    lines = [
        "# Rendered by sysgenpro.odoo_platform (redis role); sizing lines from the estate plan.",
        "bind * -::*",
        "protected-mode yes",
        "dir /data",
        "aclfile /etc/redis/acl/users.acl",
    ]
    if tls:
        lines += [
            "port 0",
            f"tls-port {port}",
            "tls-cert-file /etc/redis/tls/tls.crt",
            "tls-key-file /etc/redis/tls/tls.key",
            "tls-ca-cert-file /etc/redis/tls/ca.crt",
            "tls-auth-clients no",
        ]
    else:
        lines.append(f"port {port}")
    return "\n".join(lines) + "\n" + str(plan_instance["conf_text"])


def _labels(server: str, instance: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "redis",
        "app.kubernetes.io/instance": f"{server}-{instance}",
        "app.kubernetes.io/component": instance,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }


def _selector(server: str, instance: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": "redis", "app.kubernetes.io/instance": f"{server}-{instance}"}


def _statefulset(
    name: str, server: str, instance: str, *, plan_instance: Mapping[str, Any], port: int, opts: Mapping[str, Any]
) -> dict[str, Any]:
    memory = format_k8s_bytes(memory_limit(int(plan_instance["maxmemory"])))
    persistent = bool(plan_instance["persistence"])
    mounts: list[dict[str, Any]] = [
        {"name": "data", "mountPath": "/data"},
        {"name": "config", "mountPath": "/etc/redis/redis.conf", "subPath": "redis.conf", "readOnly": True},
        {"name": "acl", "mountPath": "/etc/redis/acl", "readOnly": True},
    ]
    volumes: list[dict[str, Any]] = [
        {"name": "config", "configMap": {"name": f"{name}-config"}},
        {"name": "acl", "secret": {"secretName": f"{name}-acl", "defaultMode": 0o440}},
    ]
    if opts["tls_secret"]:
        mounts.append({"name": "tls", "mountPath": "/etc/redis/tls", "readOnly": True})
        volumes.append({"name": "tls", "secret": {"secretName": str(opts["tls_secret"]), "defaultMode": 0o440}})
    if not persistent:
        volumes.append({"name": "data", "emptyDir": {}})
    spec: dict[str, Any] = {
        "serviceName": name,
        "replicas": 1,
        "selector": {"matchLabels": _selector(server, instance)},
        "template": {
            "metadata": {"labels": _labels(server, instance)},
            "spec": {
                "automountServiceAccountToken": False,
                "securityContext": {
                    "runAsNonRoot": True,
                    "runAsUser": REDIS_UID,
                    "runAsGroup": REDIS_UID,
                    "fsGroup": REDIS_UID,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "containers": [
                    {
                        "name": "redis",
                        "image": str(opts["image"]),
                        "command": ["redis-server", "/etc/redis/redis.conf"],
                        "ports": [{"name": "redis", "containerPort": port, "protocol": "TCP"}],
                        "resources": {
                            "requests": {"cpu": "100m", "memory": memory},
                            "limits": {"memory": memory},
                        },
                        "securityContext": {
                            "allowPrivilegeEscalation": False,
                            "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]},
                        },
                        # TCP only: an authenticated PING would need a password in the probe.
                        "readinessProbe": {"tcpSocket": {"port": "redis"}, "periodSeconds": 5},
                        "livenessProbe": {"tcpSocket": {"port": "redis"}, "periodSeconds": 10, "failureThreshold": 6},
                        "volumeMounts": mounts,
                    }
                ],
                "volumes": volumes,
            },
        },
    }
    if persistent:
        claim: dict[str, Any] = {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": str(opts["storage_size"])}},
        }
        if opts["storage_class"]:
            claim["storageClassName"] = str(opts["storage_class"])
        spec["volumeClaimTemplates"] = [{"metadata": {"name": "data"}, "spec": claim}]
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": opts["namespace"], "labels": _labels(server, instance)},
        "spec": spec,
    }


def _network_policy(
    name: str, server: str, instance: str, *, port: int, tenants: Sequence[Mapping[str, Any]], namespace: str
) -> dict[str, Any]:
    sources = [
        {
            "namespaceSelector": {
                "matchLabels": {"kubernetes.io/metadata.name": str(t.get("namespace") or f"odoo-{t['environment']}")}
            },
            "podSelector": {
                "matchLabels": {"app.kubernetes.io/name": "odoo", "app.kubernetes.io/instance": str(t["environment"])}
            },
        }
        for t in sorted(tenants, key=lambda t: str(t["environment"]))
    ]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace, "labels": _labels(server, instance)},
        "spec": {
            "podSelector": {"matchLabels": _selector(server, instance)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": sources, "ports": [{"protocol": "TCP", "port": port}]}] if sources else [],
            # Redis opens no connection of its own (no replica here): deny all egress.
            "egress": [],
        },
    }


def redis_k8s_objects(
    plan_entry: Mapping[str, Any], tenants: Sequence[Mapping[str, Any]], options: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """ConfigMap, Service, StatefulSet and NetworkPolicy per instance of a plan's redis_servers entry."""
    opts = dict(DEFAULTS, **(options or {}))
    server = str(plan_entry["server"])
    if not _DNS_LABEL.match(server) or len(server) > 40:
        raise ValueError(
            f"server={server!r}: not usable in object names; accepted: a DNS label of at most 40 characters"
        )
    unknown = sorted(set(opts) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"options {unknown}: unknown; accepted: {', '.join(sorted(DEFAULTS))}")
    public = [{k: v for k, v in t.items() if k != "password"} for t in tenants]
    instances = ["sessions"] + (["cache"] if opts["cache_enabled"] else [])
    objects: list[dict[str, Any]] = []
    for instance in instances:
        plan_instance = plan_entry["settings"][instance]
        port = int(opts[f"{instance}_port"])
        name = f"{server}-{instance}"
        labels = _labels(server, instance)
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"{name}-config", "namespace": opts["namespace"], "labels": labels},
                "data": {"redis.conf": redis_conf(plan_instance, port, bool(opts["tls_secret"]))},
            }
        )
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name, "namespace": opts["namespace"], "labels": labels},
                "spec": {
                    # Headless: the StatefulSet's stable name; one pod, so clients resolve straight to it.
                    "clusterIP": "None",
                    "selector": _selector(server, instance),
                    "ports": [{"name": "redis", "port": port, "targetPort": "redis", "protocol": "TCP"}],
                },
            }
        )
        objects.append(_statefulset(name, server, instance, plan_instance=plan_instance, port=port, opts=opts))
        objects.append(
            _network_policy(name, server, instance, port=port, tenants=public, namespace=str(opts["namespace"]))
        )
    return objects
