# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pg_tune: golden values from PGTune's formulas worked by hand, bad input, invariants.

Source for every expected value: le0pard/pgtune src/features/configuration/configurationSlice.js
(newest stored version, with dbSize) and configurationView/index.jsx (formatValue: GB when
divisible by 1048576 kB, else MB when divisible by 1024 kB, else kB). kB = bytes / 1024.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.pg_tune import pg_tune
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.plan_result import InputError
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.units import SIZE_ACCEPTED, parse_size

GOLDEN = [
    pytest.param(
        # FIELD_CASES F04: 4 GiB container, 2 CPUs, web, 100 connections.
        # kB = 4194304; shared = 4194304/4 = 1048576 (1GB); ecs = 4194304*3/4 = 3145728 (3GB);
        # mwm = 4194304/16 = 262144 (256MB); wal = floor(3*1048576/100) = 31457 -> 16MB cap;
        # work_mem = (4194304 - 1048576) / ((100 + 8) * 3) = 3145728 / 324 = 9709.03 -> 9709kB
        # (8 = PGTune's max_worker_processes below 4 CPUs); no parallel block below 4 CPUs.
        {"memory": "4GiB", "cpus": 2, "max_connections": 100, "workload": "web"},
        {
            "max_connections": 100,
            "shared_buffers": "1GB",
            "effective_cache_size": "3GB",
            "maintenance_work_mem": "256MB",
            "checkpoint_completion_target": 0.9,
            "wal_buffers": "16MB",
            "default_statistics_target": 100,
            "random_page_cost": 1.1,
            "effective_io_concurrency": 200,
            "work_mem": "9709kB",
            "huge_pages": "off",
            "jit": "off",
            "wal_compression": "lz4",
            "min_wal_size": "1GB",
            "max_wal_size": "4GB",
        },
        id="F04-4GiB-web-2cpu-pg15",
    ),
    pytest.param(
        # Worked by hand: 16 GiB, 4 CPUs (parallel block starts at 4), oltp, nvme, PG 16.
        # kB = 16777216; shared = 4194304 (4GB) >= 2GB -> huge_pages try; ecs = 12582912 (12GB);
        # mwm = 16777216/16 = 1048576 (1GB); wal = floor(3*4194304/100) = 125829 -> 16MB;
        # random_page_cost 1.1 (nvme); effective_io_concurrency 1000 (nvme);
        # parallel: max_worker_processes 4, per_gather ceil(4/2) = 2, max_parallel_workers 4,
        # maintenance ceil(4/2) = 2; work_mem = (16777216 - 4194304) / ((200 + 4) * 3)
        # = 12582912 / 612 = 20560.3 -> 20560kB; oltp wal sizes 2GB/8GB.
        {"memory": "16GB", "cpus": 4, "max_connections": 200, "workload": "oltp", "storage": "nvme", "pg_version": 16},
        {
            "max_connections": 200,
            "shared_buffers": "4GB",
            "effective_cache_size": "12GB",
            "maintenance_work_mem": "1GB",
            "checkpoint_completion_target": 0.9,
            "wal_buffers": "16MB",
            "default_statistics_target": 100,
            "random_page_cost": 1.1,
            "effective_io_concurrency": 1000,
            "work_mem": "20560kB",
            "huge_pages": "try",
            "jit": "off",
            "wal_compression": "lz4",
            "min_wal_size": "2GB",
            "max_wal_size": "8GB",
            "max_worker_processes": 4,
            "max_parallel_workers_per_gather": 2,
            "max_parallel_workers": 4,
            "max_parallel_maintenance_workers": 2,
        },
        id="16GiB-oltp-nvme-4cpu-pg16",
    ),
    pytest.param(
        # Worked by hand: 8 GiB, 3 CPUs (no parallel block), dw, hdd, PG 17, db greater than RAM,
        # PGTune's default max_connections for dw = 40.
        # kB = 8388608; shared = 2097152 (2GB, >= 2GB -> huge_pages try); ecs = 6291456 (6GB);
        # mwm = 8388608/8 = 1048576 (1GB); wal -> 16MB; default_statistics_target 500 (dw);
        # random_page_cost 4 (greater_ram and hdd); effective_io_concurrency 2 (hdd);
        # work_mem = (8388608 - 2097152) / ((40 + 8) * 3) = 43690.67; / 2 (dw) = 21845.33 -> 21845;
        # * 0.9 (greater_ram) = 19660.5 -> 19660kB; no jit for dw; dw wal sizes 4GB/16GB.
        {
            "memory": 8589934592,
            "cpus": 3,
            "workload": "dw",
            "storage": "hdd",
            "pg_version": 17,
            "db_size": "greater_ram",
        },
        {
            "max_connections": 40,
            "shared_buffers": "2GB",
            "effective_cache_size": "6GB",
            "maintenance_work_mem": "1GB",
            "checkpoint_completion_target": 0.9,
            "wal_buffers": "16MB",
            "default_statistics_target": 500,
            "random_page_cost": 4,
            "effective_io_concurrency": 2,
            "work_mem": "19660kB",
            "huge_pages": "try",
            "wal_compression": "lz4",
            "min_wal_size": "4GB",
            "max_wal_size": "16GB",
        },
        id="8GiB-dw-hdd-3cpu-pg17-greater_ram",
    ),
    pytest.param(
        # Worked by hand: 32 GiB, 8 CPUs, mixed, san, PG 18, database smaller than RAM.
        # kB = 33554432; shared = 8388608 (8GB); ecs = 25165824 (24GB); mwm = 2097152 (2GB)
        # -> autovacuum_work_mem 2GB (mwm >= 2GB); random_page_cost 1.1 (less_ram);
        # effective_io_concurrency 300 (san); parallel: 8, per_gather ceil(8/2) = 4, 8,
        # maintenance 4; work_mem = (33554432 - 8388608) / ((300 + 8) * 3) = 27235.74;
        # / 2 (mixed) = 13617.87 -> 13617; * 1.3 (less_ram) = 17702.1 -> 17702kB;
        # io_method io_uring (18, Linux); io_workers max(3, floor(8/4) = 2) = 3 -> not > 3, omitted.
        {
            "memory": "32Gi",
            "cpus": 8,
            "max_connections": 300,
            "workload": "mixed",
            "storage": "san",
            "pg_version": 18,
            "db_size": "less_ram",
        },
        {
            "max_connections": 300,
            "shared_buffers": "8GB",
            "effective_cache_size": "24GB",
            "maintenance_work_mem": "2GB",
            "checkpoint_completion_target": 0.9,
            "wal_buffers": "16MB",
            "default_statistics_target": 100,
            "random_page_cost": 1.1,
            "effective_io_concurrency": 300,
            "work_mem": "17702kB",
            "huge_pages": "try",
            "jit": "off",
            "wal_compression": "lz4",
            "autovacuum_work_mem": "2GB",
            "io_method": "io_uring",
            "min_wal_size": "1GB",
            "max_wal_size": "4GB",
            "max_worker_processes": 8,
            "max_parallel_workers_per_gather": 4,
            "max_parallel_workers": 8,
            "max_parallel_maintenance_workers": 4,
        },
        id="32GiB-mixed-san-8cpu-pg18-less_ram",
    ),
    pytest.param(
        # Worked by hand: 2 GiB, 4 CPUs, desktop, ssd, PG 15, 50 connections.
        # kB = 2097152; shared = 2097152/16 = 131072 (128MB); ecs = 2097152/4 = 524288 (512MB);
        # mwm = 131072 (128MB); wal = floor(3*131072/100) = 3932 -> 3932kB (not near 16MB);
        # work_mem = (2097152 - 131072) / ((50 + 4) * 3) = 12136.3; / 6 (desktop) = 2022.7 -> 2022
        # -> raised to the 4MB floor; desktop wal sizes 100MB/2GB; wal_level minimal,
        # max_wal_senders 0; no jit for desktop.
        {"memory": "2048MB", "cpus": 4, "max_connections": 50, "workload": "desktop"},
        {
            "max_connections": 50,
            "shared_buffers": "128MB",
            "effective_cache_size": "512MB",
            "maintenance_work_mem": "128MB",
            "checkpoint_completion_target": 0.9,
            "wal_buffers": "3932kB",
            "default_statistics_target": 100,
            "random_page_cost": 1.1,
            "effective_io_concurrency": 200,
            "work_mem": "4MB",
            "huge_pages": "off",
            "wal_compression": "lz4",
            "min_wal_size": "100MB",
            "max_wal_size": "2GB",
            "max_worker_processes": 4,
            "max_parallel_workers_per_gather": 2,
            "max_parallel_workers": 4,
            "max_parallel_maintenance_workers": 2,
            "wal_level": "minimal",
            "max_wal_senders": 0,
        },
        id="2GiB-desktop-4cpu-pg15-floor",
    ),
    pytest.param(
        # Worked by hand: 64 GiB, 16 CPUs, web, ssd, PG 18.
        # kB = 67108864; shared = 16777216 (16GB); ecs = 50331648 (48GB); mwm = 4194304 (4GB)
        # -> autovacuum_work_mem 2GB; parallel: 16, per_gather ceil(16/2) = 8 -> 4 (not dw), 16,
        # maintenance 8 -> 4; work_mem = (67108864 - 16777216) / ((400 + 16) * 3) = 40329.8
        # -> 40329kB; autovacuum_max_workers 4 (16 CPUs); io_workers min(32, max(3, 16/4)) = 4.
        {"memory": "64GiB", "cpus": 16, "max_connections": 400, "pg_version": "18"},
        {
            "max_connections": 400,
            "shared_buffers": "16GB",
            "effective_cache_size": "48GB",
            "maintenance_work_mem": "4GB",
            "checkpoint_completion_target": 0.9,
            "wal_buffers": "16MB",
            "default_statistics_target": 100,
            "random_page_cost": 1.1,
            "effective_io_concurrency": 200,
            "work_mem": "40329kB",
            "huge_pages": "try",
            "jit": "off",
            "wal_compression": "lz4",
            "autovacuum_max_workers": 4,
            "autovacuum_work_mem": "2GB",
            "io_method": "io_uring",
            "io_workers": 4,
            "min_wal_size": "1GB",
            "max_wal_size": "4GB",
            "max_worker_processes": 16,
            "max_parallel_workers_per_gather": 4,
            "max_parallel_workers": 16,
            "max_parallel_maintenance_workers": 4,
        },
        id="64GiB-web-16cpu-pg18",
    ),
]


@pytest.mark.parametrize(("inputs", "expected"), GOLDEN)
def test_golden(inputs, expected):
    settings = pg_tune(inputs).settings
    assert settings == expected
    # PGTune's output order (configurationView/index.jsx).
    assert list(settings) == list(expected)


def test_every_setting_is_explained():
    result = pg_tune({"memory": "64GiB", "cpus": 16, "max_connections": 400, "pg_version": 18})
    assert set(result.settings) <= set(result.explain)
    assert result.explain["work_mem"] == "(67108864 kB - 16777216 kB) / ((400 + 16) * 3) = 40329 kB"
    assert result.explain["wal_buffers"] == "floor(3 * 16777216 kB / 100) = 503316 kB -> clamped to 16MB"


@pytest.mark.parametrize(
    ("inputs", "warning"),
    [
        # 1 GiB, 500 connections: 262144 + 500 * 4096 * 1.5 + 3 * 65536 = 3530752 kB > 1048576 kB.
        (
            {"memory": "1GiB", "cpus": 1, "max_connections": 500},
            "worst-case memory 3530752 kB (shared_buffers + max_connections * work_mem * 1.5 + autovacuum "
            "workers * maintenance memory) exceeds the 1048576 kB given: lower max_connections (use a pooler) "
            "or give PostgreSQL more memory",
        ),
        # FIELD_CASES F04: PostgreSQL 18 in a container gets io_uring, which seccomp often blocks.
        (
            {"memory": "4GiB", "cpus": 2, "pg_version": 18, "container": True},
            "io_method = io_uring in a container: the default seccomp profiles of Docker and containerd often "
            "block io_uring; set io_method = worker unless the profile allows it",
        ),
        # PGTune's own low-memory warning (< 256MB).
        ({"memory": "200MiB"}, "PGTune: the formulas are not optimal for low-memory systems (< 256MB)"),
    ],
)
def test_warnings(inputs, warning):
    assert warning in pg_tune(inputs).warnings


def test_f04_has_no_worst_case_warning():
    warnings = pg_tune({"memory": "4GiB", "cpus": 2, "max_connections": 100}).warnings
    assert not [w for w in warnings if w.startswith("worst-case")]


def test_decimal_memory_is_explained():
    result = pg_tune({"memory": "8G"})
    assert result.inputs["memory"] == 8_000_000_000
    assert result.explain["memory"] == (
        "memory: '8G' uses the decimal unit 'G' (10^9) = 8000000000 bytes, not Gi (powers of 1024); "
        "write 8Gi if that was meant"
    )


BAD = [
    (
        {"memory": "4GiB", "memroy": 1},
        "memroy=1: unknown key for pg_tune; accepted: memory, cpus, max_connections, workload, storage, "
        "pg_version, db_size, container",
    ),
    ({"memory": "-4GiB"}, f"memory='-4GiB': is negative; accepted: {SIZE_ACCEPTED}"),
    ({"memory": -1}, f"memory=-1: is negative; accepted: {SIZE_ACCEPTED}"),
    ({"memory": "8 gigs"}, f"memory='8 gigs': has an unknown unit 'gigs'; accepted: {SIZE_ACCEPTED}"),
    (
        {"memory": "4GiB", "workload": "webshop"},
        "workload='webshop': unknown value; accepted: web, oltp, dw, desktop, mixed",
    ),
    ({"memory": "4GiB", "storage": "tape"}, "storage='tape': unknown value; accepted: ssd, hdd, san, nvme"),
    (
        {"memory": "4GiB", "pg_version": 9},
        "pg_version=9: unknown PostgreSQL major version; accepted: 10, 11, 12, 13, 14, 15, 16, 17, 18",
    ),
    (
        {"memory": "4GiB", "cpus": "two"},
        "cpus='two': cannot be read as a CPU quantity; accepted: a positive number of CPUs (2, 1.5) or Kubernetes "
        "millicores ('1500m')",
    ),
    ({"memory": "4GiB", "max_connections": 0}, "max_connections=0: out of range; accepted: a whole number >= 1"),
    (
        {"cpus": 2},
        "memory=None: is required by pg_tune; accepted: a value for memory (keys: memory, cpus, max_connections, "
        "workload, storage, pg_version, db_size, container)",
    ),
]


@pytest.mark.parametrize(("inputs", "message"), BAD)
def test_bad_input(inputs, message):
    with pytest.raises(InputError) as err:
        pg_tune(inputs)
    assert str(err.value) == message


@given(
    st.fixed_dictionaries(
        {
            "memory": st.integers(min_value=64 * 1024**2, max_value=2 * 1024**4),
            "cpus": st.one_of(st.none(), st.integers(min_value=1, max_value=128)),
            "max_connections": st.integers(min_value=1, max_value=10000),
            "workload": st.sampled_from(["web", "oltp", "dw", "desktop", "mixed"]),
            "db_size": st.sampled_from(["less_ram", "mid_ram", "greater_ram"]),
            "pg_version": st.integers(min_value=10, max_value=18),
        }
    )
)
def test_work_mem_never_below_4mb_and_sizes_parse(inputs):
    # PGTune floors work_mem at 4MB ("Modern floor limit: 4 MB minimum").
    memory = inputs["memory"]
    settings = pg_tune(inputs).settings
    assert parse_size("work_mem", settings["work_mem"]).bytes >= 4 * 1024**2
    assert parse_size("shared_buffers", settings["shared_buffers"]).bytes <= memory
    wal = parse_size("wal_buffers", settings["wal_buffers"]).bytes
    assert 32 * 1024 <= wal <= 16 * 1024**2
