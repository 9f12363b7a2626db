"""The API and its gate in process: the app built over a service on a temporary store
(`dashboard.web.api.routes.create_app`), driven by a real HTTP client over ASGI. The real server's
tests (test_api.py, test_auth.py) keep the whole stack; these are the fast default's."""
from __future__ import annotations

import asyncio

import httpx
import pytest

from dashboard.web.api.routes import create_app
from dashboard.service.core import Service
from dashboard.store.sqlite import SQLiteStore
from support.runners import StuckRunner, stuck

HERE = "http://127.0.0.1:8501"


@pytest.fixture
def service(tmp_path, monkeypatch):
    monkeypatch.setenv("HEATMAP_DASHBOARD_ADMIN_PASSWORD", "first-admin-pass")
    svc = Service(SQLiteStore(tmp_path / "db.sqlite"), tmp_path, demo=False,
                  autostart=False, runner_type=StuckRunner)
    svc.add_user("ada", "admin-pass-12", "admin")
    svc.add_user("vic", "viewer-pass-12", "viewer")
    yield svc
    svc.shutdown()
    svc.store.close()


def client(svc: Service, token: str | None = None, **headers: str) -> httpx.AsyncClient:
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(svc)),
                             base_url=HERE, headers={**auth, **headers})


async def login(svc: Service, name: str, password: str) -> str:
    async with client(svc) as c:
        r = await c.post("/api/login", json={"username": name, "password": password})
        assert r.status_code == 200, r.text
        return r.json()["token"]


def test_a_camera_that_does_not_answer_delays_no_request(service):
    """Requests about a camera whose runner does not answer are answered all the same (its
    last figures, said to be old); requests about anything else are not held behind them."""
    async def scenario() -> tuple[dict, dict, list[int]]:
        admin = await login(service, "ada", "admin-pass-12")
        async with client(service, admin) as c:
            ids = []
            for name in ("Door", "Yard"):
                r = await c.post("/api/cameras", json={"name": name, "source": "demo",
                                                        "enabled": False})
                assert r.status_code == 201, r.text
                ids.append(r.json()["id"])
            door, yard = ids
            with stuck("Door") as released:
                answers = await asyncio.gather(*(c.get(p) for p in (
                    f"/api/cameras/{door}", f"/api/cameras/{yard}", "/api/cameras",
                    "/api/health", f"/api/cameras/{door}/counts", "/api/me", "/api/users")))
                assert not released.is_set()     # all answered while Door was still stuck
            assert [a.status_code for a in answers] == [200] * 7, [a.text for a in answers]
            return answers[0].json()["status"], answers[1].json()["status"], answers

    door, yard, _ = asyncio.run(scenario())
    assert door["state"] == "not answering" and "no answer from its runner" in door["detail"]
    assert yard["state"] == "stopped"


@pytest.mark.parametrize("method, path, body, headers, status", [
    ("GET", "/api/me", None, {}, 200),
    ("POST", "/api/users", '{"username": "x1", "password": "password-123"}',
     {"Content-Type": "text/plain"}, 415),
    ("POST", "/api/users", '{"username": "x2", "password": "password-123"}',
     {"Content-Type": "application/x-www-form-urlencoded"}, 415),
    ("POST", "/api/users", "not json", {"Content-Type": "application/json"}, 400),
    ("POST", "/api/users", '{"username": "x3", "password": "password-123"}',
     {"Content-Type": "application/json"}, 201),
    ("POST", "/api/users", '{"username": "x4", "password": "password-123", "is": 1}',
     {"Content-Type": "application/json"}, 400),
    ("GET", "/api/cameras/cam_nope", None, {}, 404),
])
def test_the_api_answers_each_mistake_with_its_status(service, method, path, body, headers,
                                                      status):
    async def scenario() -> int:
        token = await login(service, "ada", "admin-pass-12")
        async with client(service, token) as c:
            return (await c.request(method, path, content=body, headers=headers)).status_code

    assert asyncio.run(scenario()) == status


def test_cookie_writes_from_another_origin_are_refused_before_they_act(service):
    async def scenario() -> tuple[int, int, int, int]:
        token = await login(service, "ada", "admin-pass-12")
        cookie = {"Cookie": f"hd_session={token}"}
        body = {"username": "csrf", "password": "password-123", "role": "admin"}
        async with client(service, **cookie) as c:
            foreign = await c.post("/api/users", json=body,
                                   headers={"Origin": "http://127.0.0.1:8625"})
            nowhere = await c.post("/api/users", json=body)
            own = await c.post("/api/users", json=body, headers={"Origin": HERE})
            read = await c.get("/api/users", headers={"Origin": "http://127.0.0.1:8625"})
        return foreign.status_code, nowhere.status_code, own.status_code, read.status_code

    assert asyncio.run(scenario()) == (403, 403, 201, 200)
    refused_first = [r for r in service.audit_log() if r["action"] == "add_user"]
    assert [r["ok"] for r in refused_first] == [True]        # only the own page's write


def test_a_token_whose_user_was_removed_gets_401_and_a_viewer_403(service):
    async def scenario() -> tuple[int, int, int]:
        viewer = await login(service, "vic", "viewer-pass-12")
        async with client(service, viewer) as c:
            before = (await c.get("/api/cameras")).status_code
            refused = (await c.post("/api/users", json={"username": "y", "password": "p" * 9,
                                                        "role": "viewer"})).status_code
            service.remove_user("vic")
            after = (await c.get("/api/cameras")).status_code
        return before, refused, after

    assert asyncio.run(scenario()) == (200, 403, 401)


def test_a_camera_address_cannot_reach_the_servers_environment_or_other_hosts(service,
                                                                            monkeypatch):
    monkeypatch.setenv("HEATMAP_DASHBOARD_ADMIN_PASSWORD", "first-admin-pass")
    monkeypatch.setenv("CAMERA_DOOR_HOST", "127.0.0.1:8625")
    monkeypatch.setenv("HEATMAP_DASHBOARD_CAMERA_HOSTS", "cam1.local")

    async def scenario() -> list[tuple[int, str]]:
        token = await login(service, "ada", "admin-pass-12")
        answers = []
        async with client(service, token) as c:
            for source in ("http://127.0.0.1:8625/leak?x=${HEATMAP_DASHBOARD_ADMIN_PASSWORD}",
                           "http://${CAMERA_DOOR_HOST}/leak", "http://127.0.0.1:8625/leak"):
                r = await c.post("/api/cameras", json={"name": "Leak", "source": source,
                                                       "enabled": False})
                answers.append((r.status_code, r.json()["error"]))
        return answers

    answers = asyncio.run(scenario())
    assert [status for status, _ in answers] == [400, 400, 400]
    assert "only variables named CAMERA_" in answers[0][1]
    assert all("may only reach the camera hosts" in words for _, words in answers[1:])
    assert not any("first-admin-pass" in words for _, words in answers)
    assert service.cameras() == []


def test_a_user_changes_their_own_password_and_every_session_of_theirs_ends(service):
    async def scenario() -> tuple[list[int], int, int]:
        token = await login(service, "vic", "viewer-pass-12")
        async with client(service, token) as c:
            statuses = [(await c.post("/api/me/password", json=body)).status_code
                        for body in ({"old": "wrong-one-1", "new": "new-viewer-pass"},
                                     {"old": "viewer-pass-12", "new": "short"},
                                     {"old": "viewer-pass-12", "new": "new-viewer-pass"})]
            after = (await c.get("/api/me")).status_code
        async with client(service) as c:
            old = (await c.post("/api/login", json={"username": "vic",
                                                    "password": "viewer-pass-12"})).status_code
        await login(service, "vic", "new-viewer-pass")
        return statuses, after, old

    assert asyncio.run(scenario()) == ([400, 400, 200], 401, 401)
    changes = [r for r in service.audit_log() if r["action"] == "change_my_password"]
    assert [r["ok"] for r in changes] == [True, False, False]
    assert all(r["user"] == "vic" for r in changes)


def test_probes_answer_without_a_login_and_say_nothing_more(service):
    async def scenario() -> list:
        async with client(service) as c:
            return [await c.get(p) for p in ("/healthz", "/readyz", "/api/health")]

    alive, ready, health = asyncio.run(scenario())
    assert (alive.status_code, alive.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    assert health.status_code == 401                      # the details stay behind login
