# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes objects from the plan: schema-valid on the three newest bundled minors, policy-checked."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils import plan as estate_plan
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.container_spec import container_spec
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.k8s_objects import k8s_objects
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.plan_result import InputError

ROOT = Path(__file__).resolve().parents[4]
VERSIONS = sorted({".".join(v.split(".")[:2]) for v in kubernetes_validate.utils.all_versions()},
                  key=lambda v: tuple(int(x) for x in v.split(".")))[-3:]  # fmt: skip
IMAGE = "registry.example.test/sysgenpro/odoo@sha256:" + "0" * 64
# checkov findings accepted on purpose; every other failed check fails the test.
CHECKOV_ALLOWED = {
    # The official Odoo image's odoo user is 100 or 101 (tests/images/odoo-standin/README.md); the derived
    # image keeps it so files written by either image stay readable. runAsNonRoot is still enforced.
    "CKV_K8S_40": "uid of the official image's odoo user (100/101), not >= 10000",
    # No CPU limit on purpose (docs/tuning.md, odoo_sizing resources): CFS throttling stalls requests that the
    # CPU request already shares fairly. Memory has a limit.
    "CKV_K8S_11": "no CPU limit on purpose (CFS throttling)",
    # The image is pinned by digest (CKV_K8S_43 passes), so IfNotPresent cannot run a different image, and pods
    # restart without a registry round trip during a registry outage.
    "CKV_K8S_15": "digest-pinned image: IfNotPresent is as safe as Always",
}
_SECRETS = {"odoo_platform_db_password": "not-a-real-secret-1", "odoo_platform_admin_password": "not-a-real-secret-2"}


def _env(server, version, **extra):
    return dict(
        _SECRETS,
        odoo_platform_runtime="kubernetes",
        odoo_platform_kubernetes_cluster="k8s1",
        odoo_platform_postgres_server=server,
        odoo_platform_odoo_version=version,
        odoo_platform_cpus=2,
        odoo_platform_memory="4GiB",
        **extra,
    )


@pytest.fixture(scope="module")
def estate():
    """Every tier and tenancy, Odoo 16 to 19: mission-critical with HPA, regional, two standard on one server."""
    envs = {
        "erp": _env("pg-erp", "19.0", odoo_platform_max_replicas=4, odoo_platform_redis_server="redis1"),
        "dist": _env("pg-dist", "17.0", odoo_platform_redis_server="redis1"),
        "wh-a": _env("pg-shared", "16.0"),
        "wh-b": _env("pg-shared", "18.0"),
    }
    for name, env in envs.items():
        env["odoo_platform_hostnames"] = [f"{name}.example.test"]
    servers = {
        s: {"odoo_platform_pg_memory": "8GiB", "odoo_platform_pg_cpus": 4} for s in ("pg-erp", "pg-dist", "pg-shared")
    }
    groups = {
        "environments": list(envs),
        "tier_mission_critical": ["erp"],
        "tier_regional": ["dist"],
        "tier_standard": ["wh-a", "wh-b"],
        "tenancy_dedicated": ["erp", "dist"],
        "tenancy_shared": ["wh-a", "wh-b"],
        "postgres_servers": list(servers),
        "container_hosts": [],
        "kubernetes_clusters": ["k8s1"],
        "redis_servers": ["redis1"],
    }
    plan = estate_plan.build_plan({**envs, **servers, "redis1": {}}, groups)
    rendered = {}
    for name, env in plan["environments"].items():
        spec = container_spec(
            env,
            {
                "image": IMAGE,
                "db_host": env["postgres_server"],
                "db_sslmode": "verify-full",
                "db_ca_cert": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
                "db_password": _SECRETS["odoo_platform_db_password"],
                "admin_password": _SECRETS["odoo_platform_admin_password"],
                "proxy_mode": True,
                "redis_host": "redis1.example.test",
                "redis_password": "R3dis-TEST-ONLY-pw",
            },
        )
        rendered[name] = (env, spec, k8s_objects(spec, {"db_cidrs": ["10.20.0.0/24"], "storage_class": "nfs"}))
    return rendered


def _kinds(objects):
    return {o["kind"] for o in objects}


def _one(objects, kind, name_suffix=""):
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"].endswith(name_suffix)]
    assert len(found) == 1, (kind, name_suffix, [o["metadata"]["name"] for o in found])
    return found[0]


def test_schema_valid_on_the_three_newest_minors(estate):
    assert len(VERSIONS) == 3
    for _env_plan, _spec, objects in estate.values():
        for version in VERSIONS:
            for obj in objects:
                kubernetes_validate.validate(obj, version, strict=True)


def test_namespace_is_restricted_and_sa_has_no_token(estate):
    _plan, _spec, objects = estate["wh-a"]
    ns = _one(objects, "Namespace")
    assert ns["metadata"]["name"] == "odoo-wh-a"
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert _one(objects, "ServiceAccount")["automountServiceAccountToken"] is False
    assert all(o["metadata"].get("namespace", "odoo-wh-a") == "odoo-wh-a" for o in objects)


def test_deployment_security_probes_and_resources_from_the_plan(estate):
    env, spec, objects = estate["erp"]
    web = _one(objects, "Deployment", "-web")
    pod = web["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] == 100  # 19.0
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["readinessProbe"]["httpGet"] == {"path": "/web/health", "port": "http"}
    assert container["resources"] == env["web"]["settings"]["resources"]
    assert web["spec"]["replicas"] == env["replicas"] == 2
    assert web["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    assert web["spec"]["template"]["metadata"]["annotations"]["odoo.sysgenpro.org/spec"] == spec["hash"]
    cron = _one(objects, "Deployment", "-cron")
    assert cron["spec"]["replicas"] == 1 and cron["spec"]["strategy"] == {"type": "Recreate"}
    assert "exec" in cron["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]


def test_service_exposes_the_evented_port(estate):
    # FIELD_CASES F01: the Kubernetes Service exposes 8072 too when Odoo runs workers.
    ports = {p["name"]: p["port"] for p in _one(estate["erp"][2], "Service")["spec"]["ports"]}
    assert ports == {"http": 8069, "evented": 8072}


def test_tier_decides_pdb_hpa_and_pvc_access_mode(estate):
    erp, wh = estate["erp"][2], estate["wh-a"][2]
    assert _one(erp, "PodDisruptionBudget")["spec"]["minAvailable"] == 1
    hpa = _one(erp, "HorizontalPodAutoscaler")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 4)
    assert _one(erp, "PersistentVolumeClaim")["spec"]["accessModes"] == ["ReadWriteMany"]
    assert {"PodDisruptionBudget", "HorizontalPodAutoscaler"}.isdisjoint(_kinds(wh))
    assert _one(wh, "PersistentVolumeClaim")["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert "HorizontalPodAutoscaler" not in _kinds(estate["dist"][2])  # regional: max_replicas = replicas


def test_quota_counts_every_pod_at_its_maximum_plus_one_surge(estate):
    env, _spec, objects = estate["erp"]
    hard = _one(objects, "ResourceQuota")["spec"]["hard"]
    assert hard["pods"] == str(env["max_replicas"] + 1 + 1)  # web at max + surge, cron


def test_network_policies_deny_by_default(estate):
    objects = estate["wh-b"][2]
    deny = _one(objects, "NetworkPolicy", "-default-deny")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    ingress = _one(objects, "NetworkPolicy", "-ingress-web")["spec"]["ingress"][0]
    assert ingress["from"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "traefik"}
    db = _one(objects, "NetworkPolicy", "-egress-database")["spec"]["egress"][0]
    assert db == {"ports": [{"port": 5432, "protocol": "TCP"}], "to": [{"ipBlock": {"cidr": "10.20.0.0/24"}}]}


def test_secret_holds_odoo_conf_and_nothing_else_does(estate):
    _plan, _spec, objects = estate["erp"]
    secret = _one(objects, "Secret")
    assert set(secret["stringData"]) == {"odoo-web.conf", "odoo-cron.conf", "redis-password"}
    public = json.dumps([o for o in objects if o["kind"] != "Secret"])
    for value in _SECRETS.values():
        assert value not in public
        assert value in secret["stringData"]["odoo-web.conf"]
    assert "R3dis-TEST-ONLY-pw" not in public
    assert secret["stringData"]["redis-password"] == "R3dis-TEST-ONLY-pw\n"
    # The web pods read it as /etc/odoo/redis-password (ODOO_SESSION_REDIS_PASSWORD_FILE).
    web = _one(objects, "Deployment", "-web")["spec"]["template"]["spec"]
    items = [
        item
        for volume in web["volumes"]
        for source in volume.get("projected", {}).get("sources", [])
        for item in source.get("secret", {}).get("items", [])
    ]
    assert {"key": "redis-password", "path": "redis-password"} in items


def test_unknown_option_is_refused(estate):
    with pytest.raises(InputError, match="are not options of k8s_objects"):
        k8s_objects(estate["erp"][1], {"namespaces": "x"})


def _checkov() -> str | None:
    for candidate in (Path(sys.executable).parent / "checkov", ROOT / ".venv-tools" / "bin" / "checkov"):
        if candidate.exists():
            return str(candidate)
    return shutil.which("checkov")


def test_checkov_kubernetes_checks(estate, tmp_path):
    checkov = _checkov()
    if checkov is None:
        pytest.fail("checkov is missing: `make venv` installs it in .venv-tools")
    for name, (_plan, _spec, objects) in estate.items():
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump_all(objects, sort_keys=False))
    proc = subprocess.run(
        [checkov, "-d", str(tmp_path), "--framework", "kubernetes", "--output", "json", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"},
        timeout=300,
    )
    report = json.loads(proc.stdout)
    reports = report if isinstance(report, list) else [report]
    failed = [
        (check["check_id"], check["resource"])
        for rep in reports
        for check in rep.get("results", {}).get("failed_checks", [])
        if check["check_id"] not in CHECKOV_ALLOWED
    ]
    passed = sum(rep.get("summary", {}).get("passed", 0) for rep in reports)
    assert failed == [], failed
    assert passed > 100  # the checks really ran
