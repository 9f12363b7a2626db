"""A report as one HTML file: its charts (inline SVG), tables and the heat of its period (an
inline PNG). No script, no outside address: it opens the same in a mail, a browser offline
or a printer. Every name in it was typed by someone, so every one is escaped."""
from __future__ import annotations

import base64
import datetime as dt
from html import escape
from typing import Any

from dashboard.service.periods import pct_text

STYLE = """body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:60em}
h1{font-size:1.5em;margin-bottom:0}h2{font-size:1.15em;margin-top:2em}
.sub{color:#666;margin-top:.2em}table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}.up{color:#0a7a2a}.down{color:#b3261e}
.key span{display:inline-block;width:.9em;height:.9em;margin:0 .3em 0 1em;vertical-align:-.1em}
img{max-width:100%}"""
NOW, BEFORE = "#1f77b4", "#c7c7c7"     # this period's bars, and those it is compared with


def render_html(r: dict[str, Any], heat_png: bytes | None = None) -> str:
    """The report `SummaryCases.report` gave, as a page.

    Example:
        >>> r = {"camera": {"name": "<Door>"}, "period": {"label": "Sat 5 Dec 2026"},
        ...      "compared_with": {"label": "Sat 28 Nov 2026"}, "interval": "hour",
        ...      "time_zone": "UTC", "zones": [], "series": [], "flows": [], "alerts": []}
        >>> "&lt;Door&gt;" in render_html(r) and "<script" not in render_html(r)
        True
    """
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>"
             f"{escape(r['camera']['name'])}: {escape(r['period']['label'])}</title>"
             f"<style>{STYLE}</style></head><body>",
             f"<h1>{escape(r['camera']['name'])}: {escape(r['period']['label'])}</h1>",
             f"<p class='sub'>Compared with {escape(r['compared_with']['label'])} · per "
             f"{escape(r['interval'])} · times in {escape(r['time_zone'])} · made "
             f"{dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}</p>",
             _zones_table(r["zones"])]
    for zone in sorted({s["zone"] for s in r["series"]}):
        rows = [s for s in r["series"] if s["zone"] == zone]
        parts += [f"<h2>{escape(zone)}: crossings per {escape(r['interval'])}</h2>",
                  "<p class='key'><span style='background:" + NOW + "'></span>this period"
                  "<span style='background:" + BEFORE + "'></span>compared with</p>",
                  bar_chart(rows)]
    if r["flows"]:
        parts += ["<h2>Flows (trips from where they came in to where they left)</h2>",
                  _table(["from", "to", "trips", "before", "change"],
                         [[f["origin"], f["destination"], f["count"], f["before"],
                           pct_text(f["change_pct"])] for f in r["flows"]])]
    if r["alerts"]:
        parts += ["<h2>Alerts</h2>", _table(["zone", "kind", "alerts"],
                                            [[a["zone"], a["kind"], a["count"]]
                                             for a in r["alerts"]])]
    if heat_png:
        parts += ["<h2>Where they went (heat of the period)</h2>",
                  f"<img alt='heat' src='data:image/png;base64,"
                  f"{base64.b64encode(heat_png).decode()}'>"]
    return "\n".join(parts) + "</body></html>"


def _zones_table(zones: list[dict[str, Any]]) -> str:
    if not zones:
        return "<p>No zones.</p>"
    rows = []
    for z in zones:
        rows.append([z["zone"], z["in"], z["out"], z["before_in"], z["before_out"],
                     pct_text(z["change_in_pct"]), pct_text(z["change_out_pct"]),
                     z.get("visits", ""), z.get("before_visits", ""), _secs(z.get("average_s")),
                     z.get("peak_inside", ""), z.get("before_peak_inside", "")])
    return _table(["zone", "in", "out", "in before", "out before", "in change", "out change",
                   "visits", "visits before", "average stay", "most inside",
                   "most inside before"], rows)


def bar_chart(rows: list[dict[str, Any]], width: int = 720, height: int = 180) -> str:
    """An SVG bar chart: per bucket, in + out now (blue) beside the compared bucket (grey).

    Example:
        >>> bar_chart([{"label": "09:00", "in": 3, "out": 1, "before_in": 2, "before_out": 0}])[:4]
        '<svg'
    """
    top = max([1] + [max(s["in"] + s["out"], s["before_in"] + s["before_out"]) for s in rows])
    n, pad = max(1, len(rows)), 24
    step = (width - pad) / n
    bars = []
    for k, s in enumerate(rows):
        x = pad + k * step
        for j, (v, color) in enumerate(((s["before_in"] + s["before_out"], BEFORE),
                                        (s["in"] + s["out"], NOW))):
            h = (height - 30) * v / top
            bars.append(f"<rect x='{x + j * step * 0.42:.1f}' y='{height - 20 - h:.1f}' "
                        f"width='{step * 0.4:.1f}' height='{h:.1f}' fill='{color}'>"
                        f"<title>{escape(s['label'])}: {v}</title></rect>")
        if n <= 12 or k % max(1, n // 12) == 0:
            bars.append(f"<text x='{x:.1f}' y='{height - 5}' font-size='10'>"
                        f"{escape(s['label'])}</text>")
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
            f"role='img'><text x='0' y='12' font-size='10'>{top}</text>"
            f"<line x1='{pad}' y1='{height - 20}' x2='{width}' y2='{height - 20}' "
            f"stroke='#999'/>{''.join(bars)}</svg>")


def _table(head: list[str], rows: list[list[Any]]) -> str:
    return ("<table><tr>" + "".join(f"<th>{escape(str(h))}</th>" for h in head) + "</tr>"
            + "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
            + "</table>")


def _cell(v: Any) -> str:
    text = escape(str(v))
    if isinstance(v, str) and v[:1] in "+-" and v.endswith("%"):
        return f"<td class='{'up' if v[0] == '+' else 'down'}'>{text}</td>"
    return f"<td>{text}</td>"


def _secs(v: float | None) -> str:
    return "" if v is None else f"{v:.0f} s"
