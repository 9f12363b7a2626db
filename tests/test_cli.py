"""The CLI on a short generated clip: the same engine and detector as the dashboard, in batch."""
from __future__ import annotations

import json
import os

import pytest

from dashboard.cli import main as cli_main
from dashboard.demo import DEMO_DIR
from dashboard.demo.scene import write_clip


def test_process_counts_a_short_clip_and_writes_every_output(tmp_path, capsys):
    clip = write_clip(tmp_path / "short.mp4", seconds=3, seed=11)          # 45 frames
    out = tmp_path / "out"
    assert cli_main(["process", str(clip), "--zones", str(DEMO_DIR / "demo_zones.json"),
                     "--out", str(out), "--imgsz", "320"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames"] == 45 and set(summary["zones"]) == {"crossing", "shopfront"}
    rows = (out / "events.csv").read_text().strip().splitlines()
    assert rows[0] == "frame,t,zone,track_id,class,direction"
    assert len(rows) - 1 == sum(z["in"] + z["out"] for z in summary["zones"].values())
    for name in ("annotated.mp4", "heatmap.png", "heatmap.npz"):
        assert (out / name).stat().st_size > 0
    trips = (out / "trips.csv").read_text().strip().splitlines()
    assert trips[0].startswith("track_id,class,origin,origin_direction,started,destination")
    # Every crossing is a step of one trip: each trip starts with one and ends with one.
    assert len(rows) - 1 >= len(trips) - 1 == sum(f["count"] for f in summary["flows"])
    assert "] 45/45 frames" in capsys.readouterr().err                    # progress shown


def test_process_dates_events_from_the_start_given(tmp_path):
    clip = write_clip(tmp_path / "short.mp4", seconds=3, seed=11)          # 45 frames, 15 fps
    zones = str(DEMO_DIR / "demo_zones.json")
    runs = {}
    for name, extra in (("video", []), ("dated", ["--start", "2026-12-05T08:00:00+01:00"])):
        assert cli_main(["process", str(clip), "--zones", zones, "--out", str(tmp_path / name),
                         "--imgsz", "320", "--no-video", *extra]) == 0
        rows = (tmp_path / name / "events.csv").read_text().strip().splitlines()[1:]
        runs[name] = [(r.split(",")[0], float(r.split(",")[1])) for r in rows]
    assert runs["video"] and [f for f, _ in runs["video"]] == [f for f, _ in runs["dated"]]
    for (_, t), (_, dated) in zip(runs["video"], runs["dated"]):
        assert dated - 1796454000.0 == pytest.approx(t, abs=1e-3)   # the same moments, dated


@pytest.mark.parametrize("start", ["2026-12-05T08:00", "tomorrow", "-5"])
def test_process_refuses_a_start_it_cannot_read(start, capsys):
    with pytest.raises(SystemExit):
        cli_main(["process", "demo", "--start", start])
    assert "argument --start" in capsys.readouterr().err


def test_process_refuses_a_bad_zones_file_before_any_work(tmp_path, caplog):
    bad = tmp_path / "zones.json"
    bad.write_text('{"zones": [{"name": "a", "type": "line", "points": [[0, 0]]}]}')
    assert cli_main(["process", "demo", "--zones", str(bad), "--out", str(tmp_path)]) == 2
    assert "needs exactly 2 points" in caplog.text


@pytest.mark.slow
def test_a_first_run_exports_the_model_and_says_nothing_of_ultralytics_on_stdout(tmp_path):
    import subprocess
    import sys

    clip = write_clip(tmp_path / "short.mp4", seconds=2, seed=11)
    env = {**os.environ, "HEATMAP_DASHBOARD_CACHE": str(tmp_path / "cache")}   # export anew
    run = subprocess.run([sys.executable, "-m", "dashboard.cli", "process", str(clip),
                          "--out", str(tmp_path / "out"), "--imgsz", "320", "--runtime", "onnx",
                          "--no-video"], capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr
    assert list((tmp_path / "cache" / "onnx").glob("*.onnx"))            # it did export
    assert run.stdout == ""                                                # results: files
    for chatter in ("ProTip", "netron", "yolo predict", "Ultralytics "):
        assert chatter not in run.stderr                                   # debug log only
