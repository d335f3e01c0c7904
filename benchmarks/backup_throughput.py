#!/usr/bin/env python3
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup throughput: odoo-backup vs a plain ``pg_dump -Fc | upload`` pipeline, and peak RSS.

Same data, same SeaweedFS, same PostgreSQL (the lab image), same machine. The plain pipeline is
boto3's ``upload_fileobj`` reading pg_dump's stdout (s3transfer, default 8 MiB parts, no
verification, no manifest). odoo-backup runs its command line (``backup --no-retention``):
probe, streamed multipart upload with sha256 and Content-MD5, verification, manifest.
Target (issue 10): ours >= 0.85 x plain; RSS independent of the database's size.

    make lab && .venv/bin/python benchmarks/backup_throughput.py [--rows 1500000 3000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / ".ansible" / "collections"))

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.s3_stream import MIB  # noqa: E402
from tests.integration.backup_lab import Weed, new_suffix, psql, start_postgres  # noqa: E402

ROLE, PASSWORD = "odoo_bench", "bench-pw-not-secret"
# Runs backup_cli.main in a child and reports that child's own peak RSS (ru_maxrss, KiB on Linux).
DRIVER = (
    "import resource, sys\n"
    "from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.backup_cli import main\n"
    "code = main(sys.argv[1:])\n"
    "sys.stderr.write(f'PEAK_RSS_KIB {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n')\n"
    "sys.exit(code)\n"
)


def plain(weed: Weed, port: int, db: str, key: str) -> tuple[float, int]:
    """pg_dump -Fc | boto3 upload_fileobj: seconds and bytes."""
    env = dict(os.environ, PGPASSWORD=PASSWORD)
    client = weed.client()
    start = time.monotonic()
    proc = subprocess.Popen(
        ["pg_dump", "-Fc", "--no-owner", "--no-privileges", "-h", "127.0.0.1", "-p", str(port), "-U", ROLE, "-d", db],
        stdout=subprocess.PIPE,
        env=env,
    )
    client.upload_fileobj(proc.stdout, weed.bucket, key)
    assert proc.wait() == 0
    seconds = time.monotonic() - start
    return seconds, int(client.head_object(Bucket=weed.bucket, Key=key)["ContentLength"])


def ours(config: Path) -> tuple[float, int, int]:
    """odoo-backup backup: seconds, dump bytes, peak RSS in bytes."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / ".ansible" / "collections"))
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, "--config", str(config), "backup", "--no-retention"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    rss = int(proc.stderr.rsplit("PEAK_RSS_KIB ", 1)[1].split()[0]) * 1024
    return seconds, int(json.loads(proc.stdout)["dump_bytes"]), rss


def main() -> None:
    """Load data, run both pipelines alternately, print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_500_000], help="rows of 64 hex chars + id")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-backup-"))
    weed = Weed(work / "weed", "AKBENCH", "bench-secret-not-secret", "bench")
    (work / "weed").mkdir()
    weed.start()
    pg, port = start_postgres(f"bench-{new_suffix()}")
    try:
        psql(pg, "postgres", f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
        print(f"{'rows':>10} {'dump MiB':>9} {'plain MiB/s':>12} {'ours MiB/s':>11} {'ratio':>6} {'ours peak RSS':>14}")
        for rows in args.rows:
            db = f"bench_{rows}"
            psql(pg, "postgres", f"CREATE DATABASE {db} OWNER {ROLE}")
            psql(pg, db, f"SET ROLE {ROLE}; CREATE TABLE payload (id int PRIMARY KEY, data text); "
                         "INSERT INTO payload SELECT g, md5(random()::text) || md5(g::text) "
                         f"FROM generate_series(1, {rows}) g")  # fmt: skip
            config = work / f"{db}.json"
            cfg = {
                "environment": db.replace("_", "-"),
                "database": {"name": db, "host": "127.0.0.1", "port": port, "user": ROLE, "password": PASSWORD,
                             "sslmode": "disable"},
                "data_dir": str(work / "no-data"),
                "primary": weed.as_config(),
                "lock_dir": str(work / "locks"),
            }  # fmt: skip
            config.write_text(json.dumps(cfg))
            config.chmod(0o600)
            plain_rates, our_rates, rss, size = [], [], [], 0
            for i in range(args.repeat):
                seconds, size = plain(weed, port, db, f"plain/{db}/{i}.dump")
                plain_rates.append(size / seconds / MIB)
                seconds, dump, peak = ours(config)
                our_rates.append(dump / seconds / MIB)
                rss.append(peak)
            p, o = statistics.median(plain_rates), statistics.median(our_rates)
            print(f"{rows:>10} {size / MIB:>9.1f} {p:>12.1f} {o:>11.1f} {o / p:>6.2f} {max(rss) / MIB:>11.1f} MiB")
    finally:
        pg.remove(force=True, v=True)
        weed.stop()


if __name__ == "__main__":
    main()
