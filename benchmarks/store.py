"""Events store figures: crossings written per second, and database size per million;
with --postgres the same writes on a PostgreSQL server started for the run (the tests'
`tests/support/pg.py`: a Unix socket, fsync off, so it shows the store's own cost, not the disk's).

    python benchmarks/store.py [--events 200000] [--postgres]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from dashboard.engine.zones import CrossingEvent
from dashboard.store.sqlite import SQLiteStore


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--postgres", action="store_true")
    args = ap.parse_args()
    if args.postgres:
        return postgres(args.events)
    n = args.events
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
            print(f"batch {batch:>3} per commit: {count / dt:,.0f} events/s "
                  f"({count:,} events, synchronous=FULL)")
            if batch == 100:
                print(f"database size: {size / count * 1e6 / 2**20:.0f} MiB per million events "
                      f"(events, totals and per-minute counts; WAL included)")


def postgres(n: int) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from support.pg import PostgresServer

    from dashboard.store.postgres import PostgresStore

    server = PostgresServer().start()
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
            print(f"PostgreSQL, batch {batch:>3} per commit: {count / dt:,.0f} events/s "
                  f"({count:,} events)")
    finally:
        server.close()


if __name__ == "__main__":
    main()
