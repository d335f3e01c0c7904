# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup throughput: odoo-backup vs a plain ``pg_dump -Fc | upload`` pipeline, and peak RSS.

Same data, same SeaweedFS, same PostgreSQL (the lab image), same machine. The plain pipeline is
boto3's ``upload_fileobj`` reading pg_dump's stdout (s3transfer, default 8 MiB parts, no
verification, no manifest). odoo-backup runs its command line (``backup --no-retention``):
probe, streamed multipart upload with sha256 and Content-MD5, verification, manifest. "ours" is
the command's wall time including Python start-up; "stream" is the dump's own progress line
(pg_dump start to completed upload).
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
    size = int(client.head_object(Bucket=weed.bucket, Key=key)["ContentLength"])
    client.delete_object(Bucket=weed.bucket, Key=key)
    return seconds, size


def ours(weed: Weed, config: Path) -> tuple[float, int, int, float]:
    """odoo-backup backup: wall seconds (with interpreter start), dump bytes, peak RSS, dump stream MiB/s."""
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
    # The progress line "db.dump: 38.8 MiB in 5.1 s (7.6 MiB/s), ..." times the stream alone.
    stream = float(proc.stderr.split("db.dump: ", 1)[1].split("(", 1)[1].split(" MiB/s", 1)[0])
    result = json.loads(proc.stdout)
    weed.client().delete_objects(
        Bucket=weed.bucket,
        Delete={"Objects": [{"Key": k["Key"]} for k in weed.client().list_objects_v2(
            Bucket=weed.bucket, Prefix=result["set_prefix"])["Contents"]]},
    )  # fmt: skip
    return seconds, int(result["dump_bytes"]), rss, stream


def main() -> None:
    """Load data, run both pipelines alternately, print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_500_000], help="rows of 64 hex chars + id")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-backup-"))
    weed = Weed(work / "weed", "AKBENCH", "bench-secret-not-secret", "bench", volume_max=50, volume_size_mb=1024)
    (work / "weed").mkdir()
    weed.start()
    pg, port = start_postgres(f"bench-{new_suffix()}")
    try:
        psql(pg, "postgres", f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
        print(
            f"{'rows':>10} {'dump MiB':>9} {'plain MiB/s':>12} {'ours MiB/s':>11} {'ratio':>6} "
            f"{'stream MiB/s':>13} {'ratio':>6} {'ours peak RSS':>14}"
        )
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
            plain_rates, our_rates, streams, rss, size = [], [], [], [], 0
            for i in range(args.repeat):
                seconds, size = plain(weed, port, db, f"plain/{db}/{i}.dump")
                plain_rates.append(size / seconds / MIB)
                seconds, dump, peak, stream = ours(weed, config)
                our_rates.append(dump / seconds / MIB)
                streams.append(stream)
                rss.append(peak)
            p, o, st = statistics.median(plain_rates), statistics.median(our_rates), statistics.median(streams)
            print(
                f"{rows:>10} {size / MIB:>9.1f} {p:>12.1f} {o:>11.1f} {o / p:>6.2f} {st:>13.1f} {st / p:>6.2f} "
                f"{max(rss) / MIB:>11.1f} MiB",
                flush=True,
            )
    finally:
        pg.remove(force=True, v=True)
        weed.stop()


if __name__ == "__main__":
    main()
