#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: odoo_instance_facts
short_description: Discover an unmanaged Odoo instance and assess it against the landing-zone standard
version_added: 0.1.0
description:
  - Run on a legacy Odoo host (with C(become=true)), it finds the Odoo service (a systemd unit whose name contains
    C(odoo) or C(openerp), else an C(odoo-bin) process), its configuration file, and reads the configuration as
    Odoo does - C([options]) only, raw values (a C(%) stays a C(%)), C(addons_path) split on commas only, each
    entry stripped, C(~) and variables expanded for the service user; an empty entry (a trailing comma) is
    reported as a warning with the directory Odoo resolved it to.
  - When C(data_dir) is unset it is resolved as Odoo does, from the service user's home
    (C($XDG_DATA_HOME/Odoo) or C(~/.local/share/Odoo); C(/var/lib/odoo) when the home does not exist).
  - The Odoo series comes from C(odoo/release.py) beside the script, else the running server's
    C(/web/webclient/version_info), else C(odoo-bin --version).
  - PostgreSQL is read with C(psql) as the configured database user, the password in the environment
    (C(PGPASSWORD)), never on the command line, so psycopg2 is not needed on the legacy host. Reported are the
    server version and key settings, the role's attributes, the pg_hba rules (from C(pg_hba_file_rules), or the
    file when the role cannot read the view), and per database its size, owner, installed modules, active
    internal users, attachments and its filestore (files, bytes, attachment files already missing).
  - Weaknesses are reported with an id, a severity and evidence - C(admin_passwd_default),
    C(admin_passwd_plaintext), C(secret_on_command_line), C(db_user_superuser), C(pg_trust_auth),
    C(pg_md5_auth), C(list_db_enabled), C(config_world_readable).
  - Secrets never leave the module - options that hold one (C(admin_passwd), C(db_password), C(smtp_password)
    and any option named like a password, secret, token or key) are returned as C(********).
  - With O(facts), nothing is discovered - the module assesses those facts (run it on the controller) and
    returns the conformance report - what differs from the standard, one proposed environment per Odoo database
    with tier and tenancy and the reasons (overridable with O(overrides)), the inventory fragment and the risks.
  - Hosts whose Python is older than ansible-core supports run C(plugins/module_utils/odoo_discovery.py) as a
    script (C(ansible.builtin.script)), which prints the same facts; see C(docs/onboarding.md).
author:
  - SysGenPro platform engineering (@sysgenpro)
attributes:
  check_mode:
    support: full
    description: The module only reads; it behaves the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
  idempotent:
    support: full
    description: It never changes anything (RV(ignore:changed=false)).
options:
  service:
    description:
      - The systemd unit of Odoo, for example V(odoo.service).
      - Default is the unit found by name (an active one first) whose command runs Odoo, else a running Odoo
        process.
    type: str
  config:
    description:
      - The Odoo configuration file. Default is the one the service uses (C(-c)/C(--config), E(ODOO_RC),
        E(OPENERP_SERVER), then C(~/.odoorc) of the service user).
    type: path
  psql:
    description: The C(psql) client on the legacy host.
    type: str
    default: psql
  verify_filestore:
    description:
      - Check that the file of every attachment exists in the filestore (one C(stat) per attachment).
      - Turn it off on very large filestores when the count of missing files is not needed.
    type: bool
    default: true
  timeout:
    description: Seconds each command (C(systemctl), C(psql), C(odoo-bin --version)) may take.
    type: int
    default: 30
  facts:
    description:
      - Facts a previous discovery returned (RV(odoo_instance)), or the C(odoo_instance) key of the script's JSON.
      - When set, nothing is discovered and the module returns the assessment of these facts.
    type: dict
  overrides:
    description:
      - Operator decisions for the assessment (only with O(facts)).
      - C(tier) (V(mission_critical), V(regional), V(standard)) and C(tenancy) (V(dedicated), V(shared)) for every
        environment; C(databases) maps a database name to C(name), C(tier), C(tenancy) or C(stage) for that one
        environment; C(name_prefix) is put before the environment names; C(stage) is the default stage;
        C(vars) are inventory variables added to every environment (placement, sizing).
    type: dict
    default: {}
notes:
  - Run discovery with C(become=true) - the configuration, the filestore and C(/proc) of the service are usually
    readable by root only.
  - Discovery is read-only - C(systemctl show), C(psql) SELECTs, C(stat) and file reads, one HTTP GET-like JSON-RPC
    call to the local Odoo for its version. It starts, stops and writes nothing.
seealso:
  - name: Onboarding runbook
    description: Discovery, the assessment report and what the migration will do.
    link: https://git.sysgenpro.example/platform/odoo_platform/-/blob/main/docs/onboarding.md
"""

EXAMPLES = r"""
---
- name: Discover the legacy Odoo instance
  sysgenpro.odoo_platform.odoo_instance_facts:
  become: true
  register: __onboard_discovery

- name: Discover a named unit on a host with two Odoo services
  sysgenpro.odoo_platform.odoo_instance_facts:
    service: odoo-erp.service
    verify_filestore: false
  become: true

- name: Assess the facts on the controller, pinning the tier of one database
  sysgenpro.odoo_platform.odoo_instance_facts:
    facts: "{{ __onboard_discovery.odoo_instance }}"
    overrides:
      tenancy: shared
      databases:
        erp_main:
          name: acme-erp
          tier: regional
      vars:
        odoo_platform_runtime: docker
  delegate_to: localhost
  register: __onboard_assessment
"""

RETURN = r"""
odoo_instance:
  description: What discovery found (discovery mode only). Secrets are masked.
  returned: when O(facts) is not set
  type: dict
  contains:
    host:
      description: Host name, operating system, Python, CPUs and memory of the legacy host.
      type: dict
      sample: {hostname: erp-old, os: Debian GNU/Linux 12 (bookworm), python: 3.11.2, cpus: 2, memory_bytes: 4102029312}
    service:
      description: The service - kind (V(systemd) or V(process)), unit, unit file, state, main pid, user, home,
        working directory and command (a password on it masked).
      type: dict
      sample: {kind: systemd, unit: odoo.service, user: odoo, home: /opt/odoo, working_directory: /}
    config:
      description: The configuration file - path, mode, its raw C([options]) (secrets masked), options set on
        the command line, and the names of the other sections (which Odoo ignores).
      type: dict
      sample: {path: /etc/odoo/odoo.conf, mode: "0644", options: {db_password: "********", list_db: "True"}}
    odoo:
      description:
        - The instance as Odoo sees it - C(version) (V(16.0)), C(version_source), C(supported), C(http_port),
          C(workers), C(max_cron_threads), C(db_maxconn), C(list_db), C(proxy_mode), C(dbfilter), C(db_name),
          C(addons_path) (resolved list), C(addons_path_empty_entries) (C(position), C(resolved_to)),
          C(addons) (each path with C(core), C(empty_entry), C(exists) and its C(modules)),
          C(custom_addons_paths), C(custom_modules), C(data_dir) and C(data_dir_source).
      type: dict
      sample:
        version: "16.0"
        addons_path: [/opt/odoo/odoo/addons, /opt/odoo/custom addons, /]
        addons_path_empty_entries: [{position: 2, resolved_to: /}]
        data_dir: /opt/odoo/.local/share/Odoo
    postgresql:
      description: C(reachable), C(error), C(connection) (host, port, user), C(version), C(major), C(settings),
        C(role) (name, superuser, createdb, createrole), C(hba_rules) and C(hba_source).
      type: dict
      sample: {reachable: true, major: 15, role: {name: odoo, superuser: true}}
    databases:
      description: One entry per database - C(name), C(odoo), C(owner), C(size_bytes), C(installed_modules),
        C(installed_modules_count), C(base_version), C(attachments), C(attachments_in_filestore),
        C(attachments_in_database), C(internal_users), C(mail_servers), C(uuid), C(filestore) (path, exists,
        files, bytes, missing_files, missing_sample) and C(error).
      type: list
      elements: dict
      sample: [{name: erp_main, odoo: true, installed_modules_count: 5, attachments: 3, filestore: {files: 3}}]
    weaknesses:
      description: Each weakness - C(id), C(severity) (V(high), V(medium)), C(summary), C(evidence).
      type: list
      elements: dict
      sample: [{id: db_user_superuser, severity: high, summary: Odoo connects as a PostgreSQL superuser}]
    warnings:
      description: What discovery noticed that is not a weakness (an empty addons_path entry, no config file).
      type: list
      elements: str
assessment:
  description:
    - The conformance report (assessment mode) - C(host), C(instance), C(weaknesses) (ids), C(differences)
      (item, legacy, standard, change), C(environments) (name, database, tier and tier_reasons, tenancy and
      tenancy_reasons, signals, stage), C(inventory_fragment), C(todo), C(risks) (id, severity, risk,
      mitigation), C(risk_counts) and C(warnings).
  returned: when O(facts) is set
  type: dict
  sample: {host: erp-old, risk_counts: {high: 5, medium: 3, low: 1}}
summary:
  description: A few lines for the console.
  returned: when O(facts) is set
  type: list
  elements: str
  sample: ["erp_main -> environment erp-main: tier standard, tenancy shared"]
report_markdown:
  description: The report as Markdown.
  returned: when O(facts) is set
  type: str
inventory_fragment_yaml:
  description: The inventory fragment as YAML, ready to merge into the estate inventory.
  returned: when O(facts) is set
  type: str
"""

# validate-modules wants every import below the documentation (import-before-documentation), hence E402.
from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.odoo_discovery import (  # noqa: E402
    DiscoveryError,
    Host,
    discover,
)
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.onboarding import (  # noqa: E402
    AssessmentError,
    assess,
    render_markdown,
    summary_lines,
    to_yaml,
)


def main() -> None:
    """Run the module."""
    module = AnsibleModule(
        argument_spec={
            "service": {"type": "str"},
            "config": {"type": "path"},
            "psql": {"type": "str", "default": "psql"},
            "verify_filestore": {"type": "bool", "default": True},
            "timeout": {"type": "int", "default": 30},
            "facts": {"type": "dict"},
            "overrides": {"type": "dict", "default": {}},
        },
        supports_check_mode=True,
    )
    params = module.params
    if params["facts"] is not None:
        facts = params["facts"].get("odoo_instance", params["facts"])
        try:
            report = assess(facts, params["overrides"])
        except AssessmentError as exc:
            module.fail_json(msg=f"cannot assess the instance: {exc}")
        except (KeyError, TypeError) as exc:
            module.fail_json(msg=f"facts: not the output of odoo_instance_facts (missing or bad {exc})")
        module.exit_json(
            changed=False,
            assessment=report,
            summary=summary_lines(report),
            report_markdown=render_markdown(report),
            inventory_fragment_yaml="---\n" + to_yaml(report["inventory_fragment"]),
        )
    if params["timeout"] <= 0:
        module.fail_json(msg=f"timeout={params['timeout']}: must be a positive number of seconds, e.g. 30")
    try:
        facts = discover(
            Host(params["timeout"]), params["service"], params["config"], params["psql"], params["verify_filestore"]
        )
    except DiscoveryError as exc:
        module.fail_json(msg=f"cannot discover the Odoo instance: {exc}")
    module.exit_json(changed=False, odoo_instance=facts)


if __name__ == "__main__":
    main()
