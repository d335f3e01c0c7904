# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The odoo_container role's Kubernetes path, exercised by rendering (no API server can run here).

The role renders every object of a Kubernetes environment to <render_dir>/<env>.yaml for GitOps
(without the Secret), idempotently; the rendered objects validate against the newest schema
kubernetes-validate bundles and carry no secret.
"""

from __future__ import annotations

import kubernetes_validate
import pytest
import yaml

from .harness import ansible_playbook

pytestmark = pytest.mark.integration

SECRETS = ("k8s-db-Secret-1", "k8s-admin-Secret-2", "k8s-redis-Secret-3")
INVENTORY = """\
all:
  children:
    environments:
      hosts:
        k8s-erp:
          ansible_connection: local
          ansible_python_interpreter: "{{ ansible_playbook_python }}"
          odoo_platform_runtime: kubernetes
          odoo_platform_kubernetes_cluster: k8s-lab
          odoo_platform_postgres_server: pg-erp
          odoo_platform_redis_server: redis-erp
          odoo_platform_odoo_version: "19.0"
          odoo_platform_hostnames: [erp.k8s.test]
          odoo_platform_cpus: 2
          odoo_platform_memory: 4GiB
          odoo_platform_max_replicas: 4
    tier_mission_critical: {hosts: {k8s-erp: }}
    tenancy_dedicated: {hosts: {k8s-erp: }}
    postgres_servers: {hosts: {pg-erp: {odoo_platform_pg_memory: 8GiB, odoo_platform_pg_cpus: 4}}}
    redis_servers: {hosts: {redis-erp: }}
    kubernetes_clusters: {hosts: {k8s-lab: }}
"""
PLAYBOOK = """\
- name: Render the Kubernetes environment
  hosts: environments
  gather_facts: false
  tasks:
    - name: Compute the plan
      ansible.builtin.set_fact:
        __plan: "{{{{ groups | sysgenpro.odoo_platform.estate_plan(hostvars) }}}}"
    - name: Run the role without an API server (render only)
      ansible.builtin.include_role:
        name: sysgenpro.odoo_platform.odoo_container
      vars:
        odoo_container_plan: "{{{{ __plan.environments[inventory_hostname] }}}}"
        odoo_container_image: "registry.example.test/sysgenpro/odoo@sha256:{digest}"
        odoo_container_db_host: pg-erp.example.test
        odoo_container_db_ca_cert: "-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----"
        odoo_container_db_password: {db}
        odoo_container_admin_password: {admin}
        odoo_container_redis_host: redis-erp.example.test
        odoo_container_redis_password: {redis}
        odoo_container_proxy_mode: true
        odoo_container_k8s_apply: false
        odoo_container_k8s_render_dir: "{render}"
        odoo_container_k8s_options: {{db_cidrs: [10.20.0.0/24]}}
"""


def _play(inventory, playbook, *args):
    return ansible_playbook(inventory, playbook, *args, timeout=300)


def _changed(stdout):
    return sum(int(part.split("=")[1]) for part in stdout.split() if part.startswith("changed="))


def test_render_for_gitops(tmp_path):
    render = tmp_path / "gitops"
    render.mkdir()
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(INVENTORY)
    playbook = tmp_path / "render.yml"
    playbook.write_text(
        PLAYBOOK.format(digest="0" * 64, db=SECRETS[0], admin=SECRETS[1], redis=SECRETS[2], render=render)
    )
    first = _play(inventory, playbook)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    text = (render / "k8s-erp.yaml").read_text()
    assert text.startswith("#")  # ansible_managed header
    for secret in SECRETS:
        assert secret not in text
        assert secret not in first.stdout + first.stderr
    objects = [o for o in yaml.safe_load_all(text) if o]
    kinds = [o["kind"] for o in objects]
    assert "Secret" not in kinds
    assert {"Namespace", "Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"} <= set(kinds)
    newest = kubernetes_validate.utils.latest_version()
    for obj in objects:
        kubernetes_validate.validate(obj, newest, strict=True)
    second = _play(inventory, playbook)
    assert second.returncode == 0 and _changed(second.stdout) == 0, second.stdout[-3000:]
