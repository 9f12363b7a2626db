"""The app's settings, from the environment.

HEATMAP_DASHBOARD_DATA: the data directory (default ~/.local/share/heatmap-dashboard).
HEATMAP_DASHBOARD_ALLOW_DOWNLOADS: "1" lets ultralytics fetch a model by name (yolo26n.pt);
otherwise nothing is requested from outside hosts.
HEATMAP_DASHBOARD_MEDIA: the only folder video files are read from (default: the data
directory's media/; uploads go to its uploads/).
HEATMAP_DASHBOARD_CAMERA_HOSTS: comma-separated host names or addresses camera URLs may
name (default: any).
HEATMAP_DASHBOARD_DEMO: "0" to not create the demo camera on first start (default "1").
HEATMAP_DASHBOARD_RETENTION_DAYS: raw crossing events older than this are pruned (default 30).
HEATMAP_DASHBOARD_MINUTE_RETENTION_DAYS: per-minute counts older than this are pruned
(default 400). Lifetime counts and the last heat snapshots are always kept.
HEATMAP_DASHBOARD_BLUR: classes new cameras pixelate for privacy, e.g. "person" (default
none; each camera can change it).
HEATMAP_DASHBOARD_SPOOL: where crossings wait while the database cannot be written, past
what memory holds (default: the data directory's spool/; put it on another disk to ride
out a full one).
HEATMAP_DASHBOARD_WEBHOOK_URL: alerts are POSTed here as JSON (default: none).
HEATMAP_DASHBOARD_MQTT_URL: counts, occupancy and alerts are published to this broker,
mqtt://[user:password@]host[:port][/topic prefix] (default: none).
HEATMAP_DASHBOARD_DATABASE_URL: postgresql://user:password@host[:port]/database to keep
cameras, zones and counts on a PostgreSQL server (default: SQLite in the data directory).
HEATMAP_DASHBOARD_RAY_ADDRESS: "auto", "host:port" or "ray://host:port" to run each camera
as a Ray actor on that cluster (needs HEATMAP_DASHBOARD_DATABASE_URL; default: threads in
this process). HEATMAP_DASHBOARD_RAY_CPUS: the CPUs each camera asks of it (default 1).
HEATMAP_DASHBOARD_WORKERS: cameras run in this many worker processes (default 0: in the
server's own; 2 on 2 cores past about 10 cameras: see pipeline/workers.py).
HEATMAP_DASHBOARD_MAX_FRAME_PIXELS: the largest picture a camera may send, in pixels (default
4096x4096 = 16,777,216: a 4K or 12-megapixel camera fits; an 8192x8192 video is refused
before a frame of it is decoded).
HEATMAP_DASHBOARD_TRUSTED_PROXIES: comma-separated addresses of the reverse proxies in front
of the server, whose X-Forwarded-For and X-Forwarded-Proto are believed (default none: a
request's address and scheme are its connection's, whatever headers it sends).
HEATMAP_DASHBOARD_ICE_SERVERS: STUN/TURN servers for a browser's camera (WebRTC) when the
browser and the server cannot reach each other directly: comma-separated stun: URLs, or a
JSON list of {"urls", "username", "credential"} (default none: no outside host is asked).
HEATMAP_DASHBOARD_ADMIN_PASSWORD: the first admin's password on first start (default: a
random one, logged once).
HEATMAP_DASHBOARD_CACHE: where the demo clip and exported ONNX models are kept (default
~/.cache/heatmap-dashboard).
HEATMAP_DASHBOARD_RUNTIME: what a camera or command on runtime "auto" runs: auto (the
fastest measured here, see vision/runtimes.py), onnx, onnx-int8, openvino, openvino-int8 or
torch (default auto).
HEATMAP_DASHBOARD_LOG: the log level (default INFO).
HEATMAP_DASHBOARD_ISOLATE_DECODING: "0" decodes video in the server's own process (default
"1": each camera's decoder runs in a process of its own, so a decoder that crashes on a
damaged or hostile stream fails that camera, not the server).
HEATMAP_DASHBOARD_TIMEZONE: the IANA time zone reports, charts and flows bucket in, e.g.
"Europe/Paris" (default: the server's own, /etc/localtime, else UTC).
HEATMAP_DASHBOARD_REPORTS: "daily", "weekly" or "daily,weekly": each camera's report of the
day (beside the same day a week before) or week (beside the week before) once it is over,
sent to HEATMAP_DASHBOARD_REPORT_TO (comma-separated addresses, from
HEATMAP_DASHBOARD_REPORT_FROM) through HEATMAP_DASHBOARD_SMTP_URL
(smtp://user:password@host:587, STARTTLS required; smtps:// for TLS from the start;
HEATMAP_DASHBOARD_SMTP_CAFILE: a CA bundle to trust), and/or written into the folder
HEATMAP_DASHBOARD_REPORT_DIR (default: none of these).

Every HEATMAP_DASHBOARD_* variable is read here and nowhere else.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo


def data_dir() -> Path:
    """The data directory, created if missing.

    Example:
        >>> data_dir().is_dir()  # doctest: +SKIP
        True
    """
    path = Path(os.environ.get("HEATMAP_DASHBOARD_DATA")
                or Path.home() / ".local" / "share" / "heatmap-dashboard")
    path.mkdir(parents=True, exist_ok=True)
    return path


def retention_s(what: str = "events") -> float:
    """How long raw "events" or per-"minutes" counts are kept, in seconds.

    Example:
        >>> retention_s("minutes") > retention_s("events") > 0
        True
    """
    name, default = {"events": ("HEATMAP_DASHBOARD_RETENTION_DAYS", "30"),
                     "minutes": ("HEATMAP_DASHBOARD_MINUTE_RETENTION_DAYS", "400")}[what]
    return max(float(os.environ.get(name, default)), 0.0) * 86400.0


def demo_enabled() -> bool:
    """Whether a new data directory gets the demo camera (HEATMAP_DASHBOARD_DEMO, default on).

    Example:
        >>> isinstance(demo_enabled(), bool)
        True
    """
    return os.environ.get("HEATMAP_DASHBOARD_DEMO", "1").strip().lower() not in ("0", "false",
                                                                                "no", "off")


def downloads_allowed() -> bool:
    """Whether a model may be fetched by name from the internet (off unless
    HEATMAP_DASHBOARD_ALLOW_DOWNLOADS=1): the server asks nothing of outside hosts otherwise.

    Example:
        >>> os.environ.pop("HEATMAP_DASHBOARD_ALLOW_DOWNLOADS", None); downloads_allowed()
        False
    """
    return os.environ.get("HEATMAP_DASHBOARD_ALLOW_DOWNLOADS", "").strip() == "1"


def media_dir(data: Path | None = None) -> Path:
    """The folder video files are read from (media/ of the data directory `data`, or the
    default one), created if missing.

    Example:
        >>> media_dir(Path("/tmp/hd-doc")).as_posix()  # doctest: +SKIP
        '/tmp/hd-doc/media'
    """
    path = Path(os.environ.get("HEATMAP_DASHBOARD_MEDIA") or (data or data_dir()) / "media")
    path.mkdir(parents=True, exist_ok=True)
    return path


def camera_hosts() -> list[str]:
    """The hosts camera URLs may name; empty: any.

    Example:
        >>> os.environ["HEATMAP_DASHBOARD_CAMERA_HOSTS"] = "cam1.local, 10.0.0.5"; camera_hosts()
        ['cam1.local', '10.0.0.5']
        >>> del os.environ["HEATMAP_DASHBOARD_CAMERA_HOSTS"]; camera_hosts()
        []
    """
    text = os.environ.get("HEATMAP_DASHBOARD_CAMERA_HOSTS", "")
    return [h.strip().lower() for h in text.split(",") if h.strip()]


def blur_default() -> list[str] | None:
    """Classes new cameras pixelate for privacy (HEATMAP_DASHBOARD_BLUR, e.g. "person";
    default none). Cameras that exist keep their own choice.

    Example:
        >>> os.environ["HEATMAP_DASHBOARD_BLUR"] = "person"; blur_default()
        ['person']
        >>> del os.environ["HEATMAP_DASHBOARD_BLUR"]; blur_default() is None
        True
    """
    text = os.environ.get("HEATMAP_DASHBOARD_BLUR", "")
    return [c.strip() for c in text.split(",") if c.strip()] or None


def spool_dir(data: Path) -> Path:
    """Where crossings wait on disk while the database cannot take them.

    Example:
        >>> os.environ.pop("HEATMAP_DASHBOARD_SPOOL", None); spool_dir(Path("/d")).as_posix()
        '/d/spool'
    """
    return Path(os.environ.get("HEATMAP_DASHBOARD_SPOOL") or data / "spool")


def webhook_url() -> str | None:
    """Where alerts are POSTed (HEATMAP_DASHBOARD_WEBHOOK_URL), or None.

    Example:
        >>> os.environ.pop("HEATMAP_DASHBOARD_WEBHOOK_URL", None); webhook_url() is None
        True
    """
    return os.environ.get("HEATMAP_DASHBOARD_WEBHOOK_URL", "").strip() or None


def mqtt_url() -> str | None:
    """The MQTT broker counts and alerts go to (HEATMAP_DASHBOARD_MQTT_URL), or None.

    Example:
        >>> os.environ.pop("HEATMAP_DASHBOARD_MQTT_URL", None); mqtt_url() is None
        True
    """
    return os.environ.get("HEATMAP_DASHBOARD_MQTT_URL", "").strip() or None


def database_url() -> str | None:
    """The PostgreSQL server to use (HEATMAP_DASHBOARD_DATABASE_URL), or None for SQLite.

    Example:
        >>> os.environ.pop("HEATMAP_DASHBOARD_DATABASE_URL", None); database_url() is None
        True
    """
    return os.environ.get("HEATMAP_DASHBOARD_DATABASE_URL", "").strip() or None


def ray_address() -> str | None:
    """The Ray cluster cameras run on (HEATMAP_DASHBOARD_RAY_ADDRESS), or None: in-process.

    Example:
        >>> os.environ.pop("HEATMAP_DASHBOARD_RAY_ADDRESS", None); ray_address() is None
        True
    """
    return os.environ.get("HEATMAP_DASHBOARD_RAY_ADDRESS", "").strip() or None


def ice_servers() -> list[dict[str, Any]]:
    """The STUN/TURN servers a browser's camera may use (HEATMAP_DASHBOARD_ICE_SERVERS); by
    default none, so neither the server nor the browser asks an outside host anything (a
    browser and a server that reach each other directly need none).

    Example:
        >>> os.environ["HEATMAP_DASHBOARD_ICE_SERVERS"] = "stun:stun.example.org:3478"
        >>> ice_servers()
        [{'urls': ['stun:stun.example.org:3478']}]
        >>> del os.environ["HEATMAP_DASHBOARD_ICE_SERVERS"]; ice_servers()
        []
    """
    from dashboard.errors import DashboardError

    text = os.environ.get("HEATMAP_DASHBOARD_ICE_SERVERS", "").strip()
    if not text:
        return []
    if not text.startswith("["):
        return [{"urls": [u.strip() for u in text.split(",") if u.strip()]}]
    try:
        servers = json.loads(text)
        if not isinstance(servers, list) or not all(
                isinstance(d, dict) and d.get("urls") for d in servers):
            raise ValueError
    except ValueError:
        raise DashboardError('HEATMAP_DASHBOARD_ICE_SERVERS must be stun: URLs separated by '
                             'commas, or a JSON list like [{"urls": "turn:host:3478", '
                             '"username": "u", "credential": "p"}].') from None
    return servers


def trusted_proxies() -> str:
    """The reverse proxies whose forwarded headers are believed, comma-separated ("" for
    none, the default: any client could otherwise claim any address, and so slip past the
    login limits).

    Example:
        >>> import os; os.environ["HEATMAP_DASHBOARD_TRUSTED_PROXIES"] = " 127.0.0.1, ::1 "
        >>> trusted_proxies()
        '127.0.0.1,::1'
        >>> del os.environ["HEATMAP_DASHBOARD_TRUSTED_PROXIES"]; trusted_proxies()
        ''
    """
    given = os.environ.get("HEATMAP_DASHBOARD_TRUSTED_PROXIES", "")
    return ",".join(a.strip() for a in given.split(",") if a.strip())


def max_frame_pixels() -> int:
    """The most pixels a camera's picture may have (width times height).

    Example:
        >>> max_frame_pixels() >= 3840 * 2160
        True
    """
    text = os.environ.get("HEATMAP_DASHBOARD_MAX_FRAME_PIXELS", "")
    try:
        value = int(text) if text.strip() else MAX_FRAME_PIXELS
    except ValueError:
        from dashboard.errors import DashboardError

        raise DashboardError("HEATMAP_DASHBOARD_MAX_FRAME_PIXELS must be a whole number of "
                             "pixels, e.g. 16777216 (4096x4096).") from None
    return max(1, value)


MAX_FRAME_PIXELS = 4096 * 4096


def admin_password() -> str:
    """The first admin's password, or "" for a random one.

    Example:
        >>> isinstance(admin_password(), str)
        True
    """
    return os.environ.get("HEATMAP_DASHBOARD_ADMIN_PASSWORD", "")


def cache_dir() -> Path:
    """Where generated files are cached (the demo clip, ONNX exports); not created here.

    Example:
        >>> cache_dir().name in ("heatmap-dashboard", cache_dir().name)
        True
    """
    return Path(os.environ.get("HEATMAP_DASHBOARD_CACHE")
                or Path.home() / ".cache" / "heatmap-dashboard")


def runtime_default() -> str:
    """The runtime of a detector given none ("auto" unless set).

    Example:
        >>> runtime_default() in ("auto", "onnx", "onnx-int8", "openvino", "openvino-int8",
        ...                       "torch") or runtime_default()
        True
    """
    return (os.environ.get("HEATMAP_DASHBOARD_RUNTIME") or "auto").lower()


def log_level() -> str:
    """Example:
        >>> log_level().isupper()
        True
    """
    return os.environ.get("HEATMAP_DASHBOARD_LOG", "INFO").upper()


def ray_cpus() -> float:
    """The CPUs each camera asks of a Ray cluster.

    Example:
        >>> ray_cpus() > 0
        True
    """
    try:
        cpus = float(os.environ.get("HEATMAP_DASHBOARD_RAY_CPUS", "1"))
    except ValueError:
        raise ValueError("HEATMAP_DASHBOARD_RAY_CPUS must be a number of CPUs, e.g. 1 "
                         "or 0.5.") from None
    if not 0 < cpus <= 1024:
        raise ValueError("HEATMAP_DASHBOARD_RAY_CPUS must be between 0 and 1024.")
    return cpus


def workers() -> int:
    """Example:
        >>> workers() >= 0
        True
    """
    text = os.environ.get("HEATMAP_DASHBOARD_WORKERS", "").strip() or "0"
    if not text.isdigit() or int(text) > 64:
        raise ValueError("HEATMAP_DASHBOARD_WORKERS must be a number of processes from 0 "
                         "to 64, e.g. 2.")
    return int(text)


def isolate_decoding() -> bool:
    """Whether each source decodes in a process of its own (the default).

    Example:
        >>> isinstance(isolate_decoding(), bool)
        True
    """
    return os.environ.get("HEATMAP_DASHBOARD_ISOLATE_DECODING", "1").strip() != "0"


def time_zone() -> "ZoneInfo":
    """The time zone days, hours and quarters are counted in (a bad name is refused at
    start, naming the variable).

    Example:
        >>> time_zone().utcoffset(__import__("datetime").datetime(2026, 12, 5)) is not None
        True
    """
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = os.environ.get("HEATMAP_DASHBOARD_TIMEZONE", "").strip()
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"HEATMAP_DASHBOARD_TIMEZONE: {name!r} is not a time zone; use "
                             "an IANA name such as Europe/Paris or America/New_York.") from None
    # The server's own: TZ if set (as the C library reads it), else what /etc/localtime
    # links to (its name is shown on the page), else its contents, else UTC.
    link = os.path.realpath("/etc/localtime")
    for key in (os.environ.get("TZ", "").lstrip(":"), link.partition("/zoneinfo/")[2]):
        try:
            if key:
                return ZoneInfo(key)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    try:
        with open("/etc/localtime", "rb") as f:
            return ZoneInfo.from_file(f)
    except (OSError, ValueError):
        return ZoneInfo("UTC")


def report_settings() -> dict[str, Any]:
    """The scheduled reports: kinds, to, sender, smtp_url, cafile, folder (see above).

    Example:
        >>> sorted(report_settings())
        ['cafile', 'folder', 'kinds', 'sender', 'smtp_url', 'to']
    """
    get = lambda name: os.environ.get(f"HEATMAP_DASHBOARD_{name}", "").strip()  # noqa: E731
    kinds = [k.strip().lower() for k in get("REPORTS").split(",") if k.strip()]
    bad = [k for k in kinds if k not in ("daily", "weekly")]
    if bad:
        raise ValueError(f"HEATMAP_DASHBOARD_REPORTS: {', '.join(bad)}: use daily, weekly "
                         "or daily,weekly.")
    to = [a.strip() for a in get("REPORT_TO").split(",") if a.strip()]
    out = {"kinds": kinds, "to": to, "sender": get("REPORT_FROM") or None,
           "smtp_url": get("SMTP_URL") or None, "cafile": get("SMTP_CAFILE") or None,
           "folder": Path(get("REPORT_DIR")).expanduser() if get("REPORT_DIR") else None}
    if kinds and not (out["folder"] or (to and out["smtp_url"])):
        raise ValueError("HEATMAP_DASHBOARD_REPORTS is set, but no report can go anywhere: "
                         "set HEATMAP_DASHBOARD_REPORT_DIR, or HEATMAP_DASHBOARD_SMTP_URL "
                         "and HEATMAP_DASHBOARD_REPORT_TO.")
    return out
