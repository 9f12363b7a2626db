"""Readings of runners that may not answer (dashboard/service/readings.py): an answer that
comes is given to everyone who asked for it, an old one stands in only for a call long out."""
from __future__ import annotations

import threading

from dashboard.service.readings import Readings
from support.helpers import wait_until


def old(last, seconds):
    return ("old", last)


def test_two_readers_at_once_both_get_the_answer():
    readings, go = Readings(wait_s=30), threading.Event()

    def slow():
        go.wait(30)
        return 42

    got = []
    readers = [threading.Thread(target=lambda: got.append(readings.read("cam", "snapshot",
                                                                        "runner", slow, old)))
               for _ in range(2)]
    for t in readers:
        t.start()
    go.set()
    for t in readers:
        t.join(60)
    readings.close()
    assert got == [42, 42]            # the second reader waited for the call out, as asked


def test_a_call_long_out_gives_the_last_answer_and_a_new_runner_starts_afresh():
    readings, stuck = Readings(wait_s=0.2), threading.Event()

    def answers(owner, value) -> bool:
        """Read until the quick call's answer is given (a busy machine may take longer than
        the wait to run it: then the old answer stands in, and the next read has it)."""
        return wait_until(lambda: readings.read("cam", "snapshot", owner, lambda: value, old)
                          == value, 30, 0.05)

    assert answers("runner", 7)
    assert readings.read("cam", "snapshot", "runner", stuck.wait, old) == ("old", 7)
    assert readings.read("cam", "snapshot", "runner", lambda: 8, old) == ("old", 7)   # still out
    assert answers("another runner", 9)                   # a new runner is asked afresh
    stuck.set()
    readings.forget("cam")
    assert answers("runner", 10)
    readings.close()
