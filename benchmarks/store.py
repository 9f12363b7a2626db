"""Events store figures: crossings written per second and database size per million on
SQLite, and the same writes on a PostgreSQL server started for the run (the tests'
`tests/support/pg.py`: a Unix socket, fsync off, so it shows the store's own cost, not the
disk's; --no-postgres leaves it out). Recorded for the README (`benchmarks/figures.py`).

    python benchmarks/store.py [--events 200000] [--no-postgres]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dashboard.engine.zones import CrossingEvent
from dashboard.store.sqlite import SQLiteStore


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--no-postgres", action="store_true")
    args = ap.parse_args()
    rows, figures = sqlite(args.events), {}
    if not args.no_postgres:
        rows += postgres(args.events)
    for name, batch, rate, _ in rows:
        figures[f"{name}:{batch}"] = round(rate)
    md = "| Store | crossings per commit | crossings/s | note |\n|---|---:|---:|---|\n" + \
        "\n".join(f"| {name} | {batch} | {rate:,.0f} | {note} |" for name, batch, rate, note in rows)
    print(md)
    from figures import record

    record("store", md, figures)


def sqlite(n: int) -> list[tuple[str, int, float, str]]:
    rows = []
    events = [CrossingEvent(1.78e9 + i * 0.05, f"zone {i % 4}", i // 3, ("person", "car")[i % 2],
                            ("in", "out")[i % 3 == 0]) for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        for batch in (1, 10, 100):
            db = Path(tmp) / f"b{batch}.sqlite"
            s = SQLiteStore(db)
            count = n if batch >= 100 else min(n, 20_000 * batch)
            t0 = time.perf_counter()
            for i in range(0, count, batch):
                s.add_events("cam", events[i:i + batch])
            dt = time.perf_counter() - t0
            s.close()
            size = db.stat().st_size + sum(p.stat().st_size for p in Path(tmp).glob(db.name + "-*"))
            note = "each commit fsynced (synchronous=FULL)"
            if batch == 100:
                note += (f"; {size / count * 1e6 / 2**20:.0f} MiB per million crossings (events, "
                         "totals, per-minute counts, the unique index; WAL included)")
            rows.append(("SQLite", batch, count / dt, note))
    return rows


def postgres(n: int) -> list[tuple[str, int, float, str]]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from support.pg import PostgresServer

    from dashboard.store.postgres import PostgresStore

    server = PostgresServer().start()
    rows = []
    try:
        for batch in (1, 10, 100):
            s = PostgresStore(server.new_database())
            count = min(n, 2_000 * batch)
            events = [CrossingEvent(1.78e9 + i * 0.05, f"zone {i % 4}", i // 3,
                                    ("person", "car")[i % 2], ("in", "out")[i % 3 == 0])
                      for i in range(count)]
            t0 = time.perf_counter()
            for i in range(0, count, batch):
                s.add_events("cam", events[i:i + batch])
            dt = time.perf_counter() - t0
            s.close()
            rows.append(("PostgreSQL (Unix socket)", batch, count / dt, f"{count:,} crossings"))
    finally:
        server.close()
    return rows


if __name__ == "__main__":
    main()
