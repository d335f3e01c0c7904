# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Workload profiles: the worker pools an environment runs besides its interactive web pool.

Pure Python, no Ansible imports (Python 3.8+).

- ``balanced``: the web pool (and cron apart when there are several replicas) only.
- ``warehouse_heavy``: a **jobs** pool for queue_job. queue_job's runner dispatches every job as
  an HTTP request to ``/queue_job/runjob`` and the job runs inside the HTTP worker that took the
  request, for as long as the job lasts (queue_job README, "Configuration": the runner reaches
  Odoo at ``ODOO_QUEUE_JOB_HOST``/``_PORT``, localhost and the HTTP port by default; ``channels``
  = how many jobs run at once, "root:N"; ``limit_time_real`` applies to jobs too). The runner and
  the workers that execute the jobs live in their own container (one replica: one runner per
  database), so a burst of inbound-receipt jobs never takes an interactive worker.
- ``transport_api_heavy``: an **api** pool that the traefik role routes the external API paths
  to (``/jsonrpc``, ``/xmlrpc/2/``, ``/json/2/`` on Odoo 19, plus configured prefixes), with
  per-integration rate limits, so telematics and carrier integrations cannot starve users.

Peak windows (receiving windows, dispatch cut-offs, month-end) raise a pool's replicas for a
period; the connection budget counts every pool at its peak (the plan refuses a peak that the
database server cannot carry).
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

from .plan_result import InputError, read_choice, read_int

PROFILES = ("balanced", "warehouse_heavy", "transport_api_heavy")
POOLS = ("web", "api", "jobs")
# queue_job README: a job runs in the HTTP worker that received /queue_job/runjob until it ends, so
# a job pool's time limits must cover the longest job (defaults here: 1 h real, 30 min CPU).
JOB_LIMIT_TIME_REAL = 3600
JOB_LIMIT_TIME_CPU = 1800
# Odoo's external API: XML-RPC (/xmlrpc/2/common, /object), JSON-RPC (/jsonrpc) and, from 19.0,
# the JSON-2 API (/json/2/<model>/<method>); /web/dataset/call_kw is the web client's own route.
API_PATHS = ("/jsonrpc", "/xmlrpc/2/")
API_PATHS_19 = ("/json/2/",)
# Seconds Traefik waits for an API pool's response headers before answering 504 (retry-friendly).
API_TIMEOUT_SECONDS = 120
_PATH = re.compile(r"^/[A-Za-z0-9._~/-]*$")
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SCHEDULE = re.compile(r"^(?P<days>[A-Za-z]{3}(?:-[A-Za-z]{3})?(?:,[A-Za-z]{3}(?:-[A-Za-z]{3})?)*|daily|monthly-last)"
                       r" (?P<start>\d\d:\d\d)-(?P<end>\d\d:\d\d)$")  # fmt: skip
PEAK_KEYS = ("name", "schedule", "web_replicas", "api_replicas", "job_workers", "cron_threads")
INTEGRATION_KEYS = ("name", "source_ranges", "average", "burst", "paths")


def api_paths(major: int, extra: Sequence[str] = ()) -> list[str]:
    """Path prefixes of the external API for an Odoo series, plus the environment's own."""
    paths = list(API_PATHS) + (list(API_PATHS_19) if major >= 19 else [])
    for index, path in enumerate(extra):
        if not isinstance(path, str) or not _PATH.match(path) or path == "/":
            raise InputError(
                f"odoo_platform_api_routes[{index}]", path, "is not a URL path prefix", "e.g. /api/telematics/"
            )
        if path not in paths:
            paths.append(path)
    return paths


def queue_job_channels(workers: int, replicas: int) -> tuple[str, str]:
    """``[queue_job] channels`` for a jobs pool and its explanation.

    Every running job holds one HTTP worker of the pool; one worker stays free so the runner's
    next dispatch and the health check are answered while every channel slot is busy.
    """
    total = workers * replicas
    slots = max(1, total - 1)
    return (
        f"root:{slots}",
        f"jobs pool {workers} workers * {replicas} replica = {total} HTTP workers, one kept free for the health "
        f"check and the runner's next dispatch: root:{slots} (queue_job runs each job inside an HTTP worker)",
    )


def read_profile(env: Mapping[str, Any]) -> str:
    """The environment's workload profile (``balanced`` by default)."""
    try:
        return read_choice(env, "odoo_platform_workload_profile", PROFILES, "balanced")
    except InputError as err:
        raise InputError("odoo_platform_workload_profile", err.value, "unknown profile", ", ".join(PROFILES)) from err


def read_peaks(env: Mapping[str, Any], profile: str) -> list[dict[str, Any]]:
    """Validated peak windows: name, schedule ("Mon-Fri 05:00-09:00", "daily ...", "monthly-last ...") and targets."""
    value = env.get("odoo_platform_peak_windows") or []
    if not isinstance(value, (list, tuple)):
        raise InputError("odoo_platform_peak_windows", value, "must be a list", "a list of dicts with " + _keys())
    peaks, names = [], set()
    for index, item in enumerate(value):
        key = f"odoo_platform_peak_windows[{index}]"
        if not isinstance(item, Mapping):
            raise InputError(key, item, "must be a dict", _keys())
        unknown = sorted(set(item) - set(PEAK_KEYS))
        if unknown:
            raise InputError(f"{key}.{unknown[0]}", item[unknown[0]], "unknown key", _keys())
        name = str(item.get("name") or "")
        if not _NAME.match(name) or name in names:
            raise InputError(f"{key}.name", item.get("name"), "must be a unique lowercase name", "e.g. receiving")
        names.add(name)
        schedule = str(item.get("schedule") or "")
        match = _SCHEDULE.match(schedule)
        if not match or not all(_clock(match.group(g)) for g in ("start", "end")):
            raise InputError(
                f"{key}.schedule",
                item.get("schedule"),
                "is not a window",
                "e.g. 'Mon-Fri 05:00-09:00', 'daily 16:00-18:00', 'monthly-last 08:00-20:00'",
            )
        peak: dict[str, Any] = {"name": name, "schedule": schedule}
        for target in ("web_replicas", "api_replicas", "job_workers", "cron_threads"):
            number = read_int(item, target, None, minimum=1, maximum=64)
            if number is not None:
                peak[target] = number
        if "api_replicas" in peak and profile != "transport_api_heavy":
            raise InputError(f"{key}.api_replicas", peak["api_replicas"], "needs an api pool", "transport_api_heavy")
        if "job_workers" in peak and profile != "warehouse_heavy":
            raise InputError(f"{key}.job_workers", peak["job_workers"], "needs a jobs pool", "warehouse_heavy")
        if len(peak) == 2:
            raise InputError(
                key, item, "raises nothing", "at least one of web_replicas, api_replicas, job_workers, cron_threads"
            )
        peaks.append(peak)
    return peaks


def read_integrations(env: Mapping[str, Any]) -> list[dict[str, Any]]:
    """API integrations with their own rate limits at Traefik (requests per second, burst)."""
    value = env.get("odoo_platform_api_integrations") or []
    if not isinstance(value, (list, tuple)):
        raise InputError("odoo_platform_api_integrations", value, "must be a list", INTEGRATION_KEYS_TEXT)
    result, names = [], set()
    for index, item in enumerate(value):
        key = f"odoo_platform_api_integrations[{index}]"
        if not isinstance(item, Mapping):
            raise InputError(key, item, "must be a dict", INTEGRATION_KEYS_TEXT)
        unknown = sorted(set(item) - set(INTEGRATION_KEYS))
        if unknown:
            raise InputError(f"{key}.{unknown[0]}", item[unknown[0]], "unknown key", INTEGRATION_KEYS_TEXT)
        name = str(item.get("name") or "")
        if not _NAME.match(name) or name in names:
            raise InputError(f"{key}.name", item.get("name"), "must be a unique lowercase name", "e.g. telematics")
        names.add(name)
        ranges = item.get("source_ranges") or []
        if not isinstance(ranges, (list, tuple)) or not ranges or not all(isinstance(r, str) for r in ranges):
            raise InputError(
                f"{key}.source_ranges", ranges, "must list the integration's addresses", "e.g. [198.51.100.0/24]"
            )
        average = read_int(item, "average", 20, minimum=1)
        burst = read_int(item, "burst", 2 * int(average or 20), minimum=1)
        result.append(
            {
                "name": name,
                "source_ranges": [str(r) for r in ranges],
                "average": average,
                "burst": burst,
                "paths": [str(p) for p in item.get("paths") or []],
            }
        )
    return result


INTEGRATION_KEYS_TEXT = "a list of dicts with keys " + ", ".join(INTEGRATION_KEYS)


def pool_replicas(base: int, peaks: Sequence[Mapping[str, Any]], key: str) -> int:
    """A pool's replicas at its highest peak (what the connection budget must carry)."""
    return max([base] + [int(p[key]) for p in peaks if key in p])


def active_peak(peaks: Sequence[Mapping[str, Any]], name: Any) -> dict[str, Any] | None:
    """The peak window an operator switched on (``odoo_platform_active_peak``), or None."""
    if name in (None, ""):
        return None
    for peak in peaks:
        if peak["name"] == name:
            return dict(peak)
    choices = ", ".join(p["name"] for p in peaks) or "none defined in odoo_platform_peak_windows"
    raise InputError("odoo_platform_active_peak", name, "names no peak window", choices)


def _clock(text: str) -> bool:
    hours, minutes = (int(x) for x in text.split(":"))
    return hours < 24 and minutes < 60


def _keys() -> str:
    return "keys " + ", ".join(PEAK_KEYS)
