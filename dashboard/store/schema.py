"""The tables, written once and rendered per dialect: SQLite's types, or PostgreSQL's
(REAL is 4 bytes there, a timestamp needs 8; no rowid, so ids are identities and zones keep
their order in `seq`; BLOB is BYTEA; "left" is quoted).

Example:
    >>> "DOUBLE PRECISION" in render(POSTGRES) and "DOUBLE PRECISION" not in render(SQLITE)
    True
"""
from __future__ import annotations

SCHEMA_VERSION = 2

# {real}: a float (timestamps, seconds); {int64}: a count or track id; {id}: a row's own id;
# {blob}: bytes; {seq}: PostgreSQL's stand-in for SQLite's rowid (insertion order).
TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cameras (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, source_sealed TEXT NOT NULL,
    source_shown TEXT NOT NULL, settings_json TEXT NOT NULL, presentation_json TEXT NOT NULL,
    enabled INTEGER NOT NULL, created {real} NOT NULL, updated {real} NOT NULL,
    deleted {real});
CREATE TABLE IF NOT EXISTS zones (
    id TEXT PRIMARY KEY, camera_id TEXT NOT NULL, spec_json TEXT NOT NULL,
    created {real} NOT NULL, updated {real} NOT NULL, deleted {real}{seq});
CREATE INDEX IF NOT EXISTS zones_by_camera ON zones (camera_id);
CREATE TABLE IF NOT EXISTS epochs (
    camera_id TEXT NOT NULL, epoch INTEGER NOT NULL, started {real} NOT NULL,
    archived {real}, PRIMARY KEY (camera_id, epoch));
CREATE TABLE IF NOT EXISTS events (
    {id}, camera_id TEXT NOT NULL, epoch INTEGER NOT NULL, t {real} NOT NULL,
    zone_id TEXT NOT NULL, track_id {int64} NOT NULL, cls TEXT NOT NULL,
    direction TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_time ON events (camera_id, t);
CREATE TABLE IF NOT EXISTS totals (
    camera_id TEXT NOT NULL, epoch INTEGER NOT NULL, zone_id TEXT NOT NULL, cls TEXT NOT NULL,
    direction TEXT NOT NULL, n {int64} NOT NULL,
    PRIMARY KEY (camera_id, epoch, zone_id, cls, direction));
CREATE TABLE IF NOT EXISTS minutes (
    camera_id TEXT NOT NULL, epoch INTEGER NOT NULL, minute {int64} NOT NULL,
    zone_id TEXT NOT NULL, cls TEXT NOT NULL, direction TEXT NOT NULL, n {int64} NOT NULL,
    PRIMARY KEY (camera_id, epoch, minute, zone_id, cls, direction));
CREATE TABLE IF NOT EXISTS visits (
    {id}, camera_id TEXT NOT NULL, epoch INTEGER NOT NULL,
    zone_id TEXT NOT NULL, track_id {int64} NOT NULL, cls TEXT NOT NULL,
    entered {real} NOT NULL, "left" {real} NOT NULL, seconds {real} NOT NULL);
CREATE INDEX IF NOT EXISTS visits_by_time ON visits (camera_id, "left");
CREATE TABLE IF NOT EXISTS trips (
    {id}, camera_id TEXT NOT NULL, epoch INTEGER NOT NULL, track_id {int64} NOT NULL,
    cls TEXT NOT NULL, origin_id TEXT NOT NULL, origin_dir TEXT NOT NULL,
    started {real} NOT NULL, dest_id TEXT, dest_dir TEXT, ended {real} NOT NULL,
    joined INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS trips_by_time ON trips (camera_id, started);
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT NOT NULL, camera_id TEXT NOT NULL, epoch INTEGER NOT NULL, zone_id TEXT NOT NULL,
    kind TEXT NOT NULL, started {real} NOT NULL, ended {real}, peak INTEGER NOT NULL,
    lim INTEGER, track_id {int64}, PRIMARY KEY (camera_id, id));
CREATE TABLE IF NOT EXISTS acks (
    camera_id TEXT NOT NULL, alert_id TEXT NOT NULL, username TEXT NOT NULL,
    t {real} NOT NULL, note TEXT NOT NULL, PRIMARY KEY (camera_id, alert_id));
CREATE TABLE IF NOT EXISTS heat (
    camera_id TEXT NOT NULL, epoch INTEGER NOT NULL, t {real} NOT NULL, npz {blob} NOT NULL);
CREATE TABLE IF NOT EXISTS heat_hours (
    camera_id TEXT NOT NULL, epoch INTEGER NOT NULL, hour {real} NOT NULL,
    grid {blob} NOT NULL, PRIMARY KEY (camera_id, epoch, hour));
CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT PRIMARY KEY, camera_id TEXT NOT NULL, kind TEXT NOT NULL, target TEXT NOT NULL,
    period_start {real} NOT NULL, period_end {real} NOT NULL, label TEXT NOT NULL,
    created {real} NOT NULL, attempts INTEGER NOT NULL, next_try {real} NOT NULL,
    last_error TEXT, sent {real});
CREATE TABLE IF NOT EXISTS evidence (
    camera_id TEXT NOT NULL, zone_id TEXT NOT NULL, track_id {int64} NOT NULL,
    t {real} NOT NULL, direction TEXT NOT NULL, crop {blob} NOT NULL, moment {blob},
    bytes {int64} NOT NULL, PRIMARY KEY (camera_id, zone_id, track_id, t, direction));
CREATE TABLE IF NOT EXISTS audits (
    id TEXT PRIMARY KEY, camera_id TEXT NOT NULL, created {real} NOT NULL,
    username TEXT NOT NULL, since {real} NOT NULL, until {real} NOT NULL,
    settings_json TEXT NOT NULL, marks_json TEXT NOT NULL, result_json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS samples (
    id TEXT PRIMARY KEY, camera_id TEXT NOT NULL, created {real} NOT NULL,
    username TEXT NOT NULL, seconds {real} NOT NULL, path TEXT NOT NULL, status TEXT NOT NULL,
    first_t {real}, last_t {real}, frames {int64} NOT NULL, error TEXT,
    zones_json TEXT NOT NULL, settings_json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY, pw_hash TEXT NOT NULL, role TEXT NOT NULL,
    created {real} NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY, username TEXT NOT NULL, kind TEXT NOT NULL,
    created {real} NOT NULL, expires {real} NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
    {id}, t {real} NOT NULL, username TEXT NOT NULL, action TEXT NOT NULL,
    target TEXT NOT NULL, ok INTEGER NOT NULL, detail TEXT NOT NULL);
"""
SQLITE = {"real": "REAL", "int64": "INTEGER", "blob": "BLOB", "id": "id INTEGER PRIMARY KEY",
          "seq": ""}
POSTGRES = {"real": "DOUBLE PRECISION", "int64": "BIGINT", "blob": "BYTEA",
            "id": "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
            "seq": ", seq BIGINT GENERATED BY DEFAULT AS IDENTITY"}

# What makes a write idempotent: the same crossing, visit or trip written twice in one epoch
# is one row (a batch retried after a commit whose answer was lost). A Reset starts a new
# epoch: a file counted again from its start writes the same video times again, and they
# count. A database from before these (where a bug could have doubled a row) opens without
# them; the first ones, without the epoch, are dropped.
UNIQUE_INDEXES = (
    "DROP INDEX IF EXISTS events_once",
    "DROP INDEX IF EXISTS visits_once",
    "CREATE UNIQUE INDEX IF NOT EXISTS events_once_per_epoch ON events "
    "(camera_id, epoch, zone_id, track_id, t, direction)",
    "CREATE UNIQUE INDEX IF NOT EXISTS visits_once_per_epoch ON visits "
    "(camera_id, epoch, zone_id, track_id, entered)",
    "CREATE UNIQUE INDEX IF NOT EXISTS trips_once_per_epoch ON trips "
    "(camera_id, epoch, track_id, origin_id, started)")


def render(dialect: dict[str, str]) -> str:
    """The tables in one dialect's types (`SQLITE` or `POSTGRES`).

    Example:
        >>> "id INTEGER PRIMARY KEY" in render(SQLITE)
        True
    """
    return TABLES.format(**dialect)
