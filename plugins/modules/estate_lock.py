#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: estate_lock
short_description: Take, release, break or report the run lock of an estate
version_added: 0.1.0
description:
  - Makes sure only one run (an AWX job, a shell on an operator's machine) changes an estate at a time.
  - The lock is one JSON file, O(path)/O(estate).lock, written with mode V(0600) and published atomically, so two
    runs that race for a free estate cannot both win.
  - The lock records the holder (C(user@host)), the process id of the C(ansible-playbook) run, the run id, the
    playbook, the start time (UTC, ISO 8601) and the AWX job id when the run is an AWX job.
  - A lock is B(stale) when its holder ran on the host the module runs on and that process is gone, or when it is
    older than O(max_age). A stale lock is reported with who held it and since when; it is never taken over
    silently. Acquiring fails unless O(break_stale=true).
  - A run releases only its own lock (the same O(run_id)). Removing another run's lock is the explicit
    O(state=broken), whose result names who broke it and the previous holder.
  - Run it on one host that every controller reaches (C(localhost) when all runs start from the same machine,
    otherwise a shared host with C(delegate_to)), once per run (C(run_once=true)).
author:
  - SysGenPro platform engineering (@sysgenpro)
attributes:
  check_mode:
    support: full
    description: Reports what it would take, release or break, and fails when the estate is locked by another run;
      writes nothing.
  diff_mode:
    support: full
    description: The lock before and after, as JSON.
  idempotent:
    support: full
    description: Acquiring a lock this O(run_id) already holds, releasing a free estate and breaking a free estate
      change nothing.
options:
  path:
    description:
      - The directory that holds the lock files, on the host the module runs on.
      - Created with mode V(0700) when missing.
    type: path
    default: ~/.cache/sysgenpro-odoo-platform/locks
  estate:
    description:
      - The name of the estate, a DNS-1123 label (lowercase letters, digits and C(-)); it becomes the lock file name.
    type: str
    required: true
  state:
    description:
      - V(acquired) takes the lock for O(run_id); fails naming the holder when another run holds it, fresh or stale.
      - V(released) gives up the lock of O(run_id); fails when another run holds it. A free estate is fine.
      - V(broken) removes the lock whoever holds it, and returns the previous holder.
      - V(status) only reports the lock.
    type: str
    choices: [acquired, released, broken, status]
    default: acquired
  run_id:
    description:
      - The unique id of this run (the AWX job id, or a random token made once at the start of the play).
      - Required with O(state=acquired) and O(state=released).
    type: str
  holder_info:
    description:
      - Who is running, as recorded in the lock. Every key is optional; missing ones are taken from the host the
        module runs on.
    type: dict
    default: {}
    suboptions:
      user:
        description: The user that started the run. Defaults to the user the module runs as.
        type: str
      host:
        description: The host the run was started on (the controller). Defaults to the host the module runs on.
        type: str
      pid:
        description:
          - The process id of the run. Defaults to the nearest C(ansible-playbook) or C(ansible) process above the
            module, found through C(/proc) when the module runs on the controller.
        type: int
      playbook:
        description: The playbook of the run, for the message other runs get.
        type: str
      awx_job_id:
        description:
          - The AWX job id (the C(awx_job_id) extra variable AWX sets).
          - Defaults to the environment variable E(AWX_JOB_ID), E(TOWER_JOB_ID) or E(JOB_ID) when set.
        type: str
  max_age:
    description:
      - Seconds after which a lock is stale whoever holds it (a run that lasts longer must not be expected).
    type: int
    default: 43200
  break_stale:
    description:
      - With O(state=acquired), break a stale lock of another run and take the estate. The result has
        RV(broken=true) and the previous holder in RV(previous).
      - A lock whose holder may still be running is never broken by this option.
    type: bool
    default: false
notes:
  - The playbooks map C(-e odoo_platform_lock_break=true) to O(break_stale=true); see C(docs/run-lock.md).
  - The lock protects against concurrent runs that use the same lock directory. AWX execution environments have a
    private file system, so when AWX and shells share an estate, put the lock on a host both reach.
seealso:
  - name: Run lock how-to
    description: How the playbooks take and release the lock, and how to break a stale one.
    link: https://git.sysgenpro.example/platform/odoo_platform/-/blob/main/docs/run-lock.md
"""

EXAMPLES = r"""
---
- name: Make one id for this run (the AWX job id under AWX)
  ansible.builtin.set_fact:
    odoo_platform_run_id: "{{ awx_job_id | default(lookup('ansible.builtin.password', '/dev/null', length=16)) }}"
  run_once: true

- name: Lock the estate for this run
  sysgenpro.odoo_platform.estate_lock:
    estate: logistics-prod
    run_id: "{{ odoo_platform_run_id }}"
    holder_info:
      playbook: site.yml
      user: "{{ lookup('ansible.builtin.env', 'USER') }}"
    break_stale: "{{ odoo_platform_lock_break | default(false) | bool }}"
  delegate_to: localhost
  run_once: true

- name: Release the lock at the end of the run
  sysgenpro.odoo_platform.estate_lock:
    estate: logistics-prod
    state: released
    run_id: "{{ odoo_platform_run_id }}"
  delegate_to: localhost
  run_once: true

- name: Show who holds the estate
  sysgenpro.odoo_platform.estate_lock:
    estate: logistics-prod
    state: status
  delegate_to: localhost
  run_once: true
  register: __odoo_platform_lock_status

- name: Break the lock of a run that is certainly gone
  sysgenpro.odoo_platform.estate_lock:
    estate: logistics-prod
    state: broken
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
status:
  description:
    - The lock after the task, V(free), V(held) or V(stale) (V(stale) only with O(state=status)).
  returned: always
  type: str
  sample: held
lock:
  description: The lock after the task; V(null) when the estate is free.
  returned: always
  type: dict
  contains:
    estate:
      description: The estate.
      type: str
      sample: logistics-prod
    holder:
      description: C(user@host) that started the run.
      type: str
      sample: alice@ops-laptop
    pid:
      description: The process id of the run on that host, V(null) when unknown.
      type: int
      sample: 41872
    run_id:
      description: The run that holds the lock.
      type: str
      sample: 7f3k2m9q1x0c4b8n
    playbook:
      description: The playbook of the run.
      type: str
      sample: site.yml
    started:
      description: When the lock was taken, UTC, ISO 8601.
      type: str
      sample: "2026-12-03T14:00:00Z"
    awx_job_id:
      description: The AWX job id, V(null) outside AWX.
      type: str
      sample: "4711"
previous:
  description:
    - The lock before the task, in the form of RV(lock); V(null) when the estate was free. With O(state=broken) or
      O(break_stale=true) this is the holder whose lock was broken.
  returned: always
  type: dict
  sample:
    estate: logistics-prod
    holder: awx@awx-task-5f7c
    pid: 12
    run_id: "4702"
    playbook: site.yml
    started: "2026-12-02T23:10:04Z"
    awx_job_id: "4702"
broken:
  description: Whether a lock of another run was broken.
  returned: always
  type: bool
  sample: false
broken_by:
  description: C(user@host) that broke the lock, when RV(broken=true).
  returned: always
  type: str
  sample: alice@ops-laptop
stale_reason:
  description: Why the lock in RV(previous) is stale, V(null) when it is not.
  returned: always
  type: str
  sample: its process 41872 is no longer running on ops-laptop
lock_file:
  description: The lock file.
  returned: always
  type: str
  sample: /home/alice/.cache/sysgenpro-odoo-platform/locks/logistics-prod.lock
msg:
  description: What was done, in one sentence.
  returned: always
  type: str
  sample: locked estate 'logistics-prod' for run '7f3k2m9q1x0c4b8n'
"""

# validate-modules wants every import below the documentation (import-before-documentation), hence E402.
import getpass  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import traceback  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.run_lock import (  # noqa: E402
    DEFAULT_DIRECTORY,
    DEFAULT_MAX_AGE,
    Context,
    LockError,
    acquire,
    awx_job_id,
    break_lock,
    find_controller_pid,
    lock_status,
    release,
)


def _holder(module: AnsibleModule) -> dict[str, object]:
    """``holder_info`` with every missing key filled in from the host the module runs on."""
    info = {key: value for key, value in (module.params["holder_info"] or {}).items() if value not in (None, "")}
    if "user" not in info:
        try:
            info["user"] = getpass.getuser()
        except (KeyError, OSError):  # no passwd entry for the uid (containers)
            info["user"] = str(os.getuid())
    info.setdefault("host", socket.gethostname())
    if "pid" not in info:
        info["pid"] = find_controller_pid(os.getpid())
    if "awx_job_id" not in info:
        info["awx_job_id"] = awx_job_id(os.environ)
    return info


def main() -> None:
    """Run the module."""
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "default": DEFAULT_DIRECTORY},
            "estate": {"type": "str", "required": True},
            "state": {
                "type": "str",
                "default": "acquired",
                "choices": ["acquired", "released", "broken", "status"],
            },
            "run_id": {"type": "str"},
            "holder_info": {
                "type": "dict",
                "default": {},
                "options": {
                    "user": {"type": "str"},
                    "host": {"type": "str"},
                    "pid": {"type": "int"},
                    "playbook": {"type": "str"},
                    "awx_job_id": {"type": "str"},
                },
            },
            "max_age": {"type": "int", "default": DEFAULT_MAX_AGE},
            "break_stale": {"type": "bool", "default": False},
        },
        required_if=[("state", "acquired", ["run_id"]), ("state", "released", ["run_id"])],
        supports_check_mode=True,
    )
    params = module.params
    state = params["state"]
    if params["max_age"] <= 0:
        module.fail_json(msg=f"max_age={params['max_age']}: must be a positive number of seconds, e.g. 43200 (12 h)")
    ctx = Context(max_age=params["max_age"])

    try:
        if state == "acquired":
            outcome = acquire(
                params["path"],
                params["estate"],
                params["run_id"],
                _holder(module),
                ctx,
                break_stale=params["break_stale"],
                check_mode=module.check_mode,
            )
        elif state == "released":
            outcome = release(params["path"], params["estate"], params["run_id"], ctx, check_mode=module.check_mode)
        elif state == "broken":
            holder = _holder(module)
            outcome = break_lock(
                params["path"],
                params["estate"],
                f"{holder['user']}@{holder['host']}",
                ctx,
                check_mode=module.check_mode,
            )
        else:
            outcome = lock_status(params["path"], params["estate"], ctx)
    except LockError as exc:
        module.fail_json(
            msg=str(exc),
            lock=exc.lock.as_dict() if exc.lock else None,
            stale_reason=exc.stale_reason,
        )
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(msg=f"cannot use the lock directory {params['path']}: {exc}", exception=traceback.format_exc())

    result = outcome.as_dict()
    if module._diff:
        result["diff"] = {
            "before_header": outcome.lock_file,
            "after_header": outcome.lock_file,
            "before": result["previous"] or {},
            "after": result["lock"] or {},
        }
    module.exit_json(**result)


if __name__ == "__main__":
    main()
