# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write a synthetic estate inventory: N environments spread over S PostgreSQL servers.

Mixed tiers (10 % mission-critical dedicated, 20 % regional, the rest standard), all Docker.
Secrets are random plain values (a benchmark inventory, never a real one).
"""

from __future__ import annotations

import argparse
import secrets
from pathlib import Path

import yaml


def build(environments: int, servers: int) -> dict:
    """The inventory as a dict (hosts.yml layout)."""
    envs, tiers = {}, {"tier_mission_critical": {}, "tier_regional": {}, "tier_standard": {}}
    tenancy = {"tenancy_dedicated": {}, "tenancy_shared": {}}
    pg = {f"pg-{i:02d}": {"odoo_platform_pg_memory": "64GiB", "odoo_platform_pg_cpus": 16} for i in range(servers)}
    docker = {}
    for i in range(environments):
        name = f"env-{i:04d}"
        dedicated = i % 10 == 0
        tier = "tier_mission_critical" if dedicated else ("tier_regional" if i % 5 == 1 else "tier_standard")
        server = f"pg-ded-{i:04d}" if dedicated else f"pg-{i % servers:02d}"
        host = f"docker-ded-{i:04d}" if dedicated else f"docker-{i % servers:02d}"
        if dedicated:
            pg[server] = {"odoo_platform_pg_memory": "32GiB", "odoo_platform_pg_cpus": 8}
        docker[host] = None
        envs[name] = {
            "odoo_platform_runtime": "docker",
            "odoo_platform_container_host": host,
            "odoo_platform_postgres_server": server,
            "odoo_platform_hostnames": [f"{name}.bench.example"],
            "odoo_platform_cpus": 2,
            "odoo_platform_memory": "4GiB",
            "odoo_platform_concurrent_users": 10 + i % 50,
            "odoo_platform_db_password": secrets.token_urlsafe(12),
            "odoo_platform_admin_password": secrets.token_urlsafe(12),
        }
        tiers[tier][name] = None
        tenancy["tenancy_dedicated" if dedicated else "tenancy_shared"][name] = None
    local = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    children = {"environments": {"hosts": envs, "vars": local}}
    children.update({group: {"hosts": hosts} for group, hosts in {**tiers, **tenancy}.items()})
    children["postgres_servers"] = {"hosts": pg}
    children["container_hosts"] = {"hosts": docker}
    return {"all": {"children": children}}


def main() -> None:
    """Parse arguments and write DIR/hosts.yml."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--environments", type=int, default=200)
    parser.add_argument("--servers", type=int, default=10)
    args = parser.parse_args()
    args.directory.mkdir(parents=True, exist_ok=True)
    (args.directory / "hosts.yml").write_text("---\n" + yaml.safe_dump(build(args.environments, args.servers)))


if __name__ == "__main__":
    main()
