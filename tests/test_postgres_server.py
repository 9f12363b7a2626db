"""The dashboard on PostgreSQL (HEATMAP_DASHBOARD_DATABASE_URL): a real server on loopback
over a real PostgreSQL server, both started here; the API the same as on SQLite."""
from __future__ import annotations

import pytest

from dashboard.demo.scene import write_clip
from support.helpers import wait_until
from support.server import DashboardServer

pytestmark = pytest.mark.slow   # the fast default leaves these out (README)


def test_the_dashboard_counts_into_postgres_and_a_restart_resumes_from_it(postgres, tmp_path):
    import psycopg

    url = postgres.new_database()
    # The test server trusts local users, so any password works: it must never show.
    secret = url.replace("dashboard@", "dashboard:pw-s3cret@")
    srv = DashboardServer(tmp_path / "data", demo=False, HEATMAP_DASHBOARD_DATABASE_URL=secret)
    write_clip(srv.data / "media" / "clip.mp4", seconds=12, seed=11)
    srv.start()
    try:
        status, cam = srv.post("/api/cameras", {"name": "Street", "source": "clip.mp4",
                                                "enabled": False,
                                                "settings": {"imgsz": 320, "pacing": "fast"}})
        assert status == 201, cam
        base = f"/api/cameras/{cam['id']}"
        zone = srv.post(f"{base}/zones", {"name": "door", "type": "line",
                                          "points": [[0.5, 0.39], [0.5, 0.99]]})[1]
        assert srv.post(f"{base}/start")[0] == 200
        assert wait_until(lambda: srv.get(base)[1]["status"]["state"] == "ended", 180)

        def api() -> tuple[int, int]:
            z = next(z for z in srv.get(f"{base}/counts")[1]["zones"] if z["id"] == zone["id"])
            return z["in"], z["out"]

        counted = api()
        assert sum(counted) > 0
        with psycopg.connect(url) as db:   # what the API says is what PostgreSQL holds
            rows = db.execute("SELECT direction, SUM(n) FROM totals WHERE zone_id = %s AND "
                              "epoch = (SELECT MAX(epoch) FROM epochs WHERE camera_id = %s) "
                              "GROUP BY direction", (zone["id"], cam["id"])).fetchall()
            events = db.execute("SELECT COUNT(*) FROM events WHERE zone_id = %s",
                                (zone["id"],)).fetchone()[0]
        assert dict(rows) == {d: n for d, n in zip(("in", "out"), counted) if n}
        assert events >= sum(counted)
        assert not (srv.data / "dashboard.db").exists()          # nothing went to SQLite
        assert srv.get("/api/health")[1]["store"] == "ok"
        assert "pw-s3cret" not in srv.log()

        srv.stop()
        srv.start()                                               # a restart
        assert api() == counted
        assert wait_until(lambda: "Counted to the end" in (srv.get(base)[1]["status"]["detail"]
                                                           or ""), 60)   # not counted twice
        assert api() == counted
    finally:
        srv.stop()
