"""Login limits that hold under attack: tries counted before the (slow) password check, so
parallel tries cannot slip past; and a stranger's failures, from the same address or for
the same name, cannot keep out a person whose browser has logged in before."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from dashboard.service.auth import CLIENT_FAILS_ALLOWED, FAILS_ALLOWED, Auth, Role
from dashboard.errors import LoginFailed
from dashboard.store.sqlite import SQLiteStore

PROXY = "10.0.0.2"       # everyone behind one proxy that forwards no address


@pytest.fixture
def auth():
    from argon2 import PasswordHasher

    # argon2 at a low cost: these tables check many passwords; the rules are the same.
    a = Auth(SQLiteStore(":memory:"), PasswordHasher(time_cost=1, memory_cost=1024))
    a.add_user("ada", "admin-pass-12", Role.ADMIN)
    a.add_user("olga", "operator-pass-1", Role.OPERATOR)
    return a


def outcome(auth: Auth, name: str, password: str, client: str = PROXY,
            device: str | None = None) -> str:
    try:
        auth.login(name, password, client, device=device)
        return "in"
    except LoginFailed as e:
        return "wrong" if "Wrong" in str(e) else "refused"


def test_parallel_tries_are_counted_before_the_password_is_checked():
    auth = Auth(SQLiteStore(":memory:"))       # argon2's real cost: tries overlap in time
    auth.add_user("olga", "operator-pass-1", Role.OPERATOR)
    start = threading.Barrier(40)

    def attempt(_: int) -> str:
        start.wait()
        return outcome(auth, "olga", "not-the-password")

    with ThreadPoolExecutor(40) as pool:
        results = list(pool.map(attempt, range(40)))
    assert results.count("wrong") <= FAILS_ALLOWED        # checked at most 5 times
    assert results.count("refused") >= 40 - FAILS_ALLOWED
    assert outcome(auth, "olga", "operator-pass-1") == "refused"   # the door is shut now


@pytest.mark.parametrize("stranger", [
    # five wrong passwords for the admin's own name, from the admin's address
    [("ada", f"guess-{i}") for i in range(FAILS_ALLOWED)],
    # a spray of made-up names from the admin's address
    [(f"user{i}", "password-123") for i in range(CLIENT_FAILS_ALLOWED)],
])
def test_a_stranger_cannot_keep_out_a_browser_that_logged_in_before(auth, stranger):
    mark = auth.device_mark("ada")             # set when ada logged in on her browser
    for name, password in stranger:
        outcome(auth, name, password)
    assert outcome(auth, "ada", "admin-pass-12") == "refused"           # a new browser
    assert outcome(auth, "ada", "admin-pass-12", device=mark) == "in"    # hers
    nonce, signature, name = mark.split(":", 2)
    tampered = f"{nonce}:{signature[::-1]}:{name}"
    assert outcome(auth, "ada", "admin-pass-12", device=tampered) == "refused"
    assert outcome(auth, "ada", "admin-pass-12", device=f"{nonce}x:{signature}:{name}") \
        == "refused"


def test_a_browser_mark_counts_its_own_failures(auth):
    mark = auth.device_mark("ada")
    results = [outcome(auth, "ada", f"guess-{i}", device=mark) for i in range(FAILS_ALLOWED)]
    assert results == ["wrong"] * FAILS_ALLOWED
    assert outcome(auth, "ada", "admin-pass-12", device=mark) == "refused"   # locked too
    assert outcome(auth, "ada", "admin-pass-12", client="10.0.0.3") == "in"  # not elsewhere


def test_a_right_password_forgives_the_earlier_failures(auth):
    for i in range(FAILS_ALLOWED - 1):
        assert outcome(auth, "olga", f"guess-{i}") == "wrong"
    assert outcome(auth, "olga", "operator-pass-1") == "in"
    assert [outcome(auth, "olga", f"again-{i}") for i in range(FAILS_ALLOWED)] == \
        ["wrong"] * FAILS_ALLOWED
