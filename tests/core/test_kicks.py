"""OncePer: a background kick is due at most once per the setting's seconds in a process."""

from __future__ import annotations

import pytest

from core import kicks
from core.kicks import OncePer


@pytest.fixture
def clock(monkeypatch):
    now = [1000]  # a fake time.monotonic(), in whole seconds
    monkeypatch.setattr(kicks.time, "monotonic", lambda: now[0])
    return now


def test_a_second_kick_inside_the_window_is_not_due_and_one_after_it_is(settings, clock):
    settings.TEST_KICK_SECONDS = 5
    kick = OncePer("TEST_KICK_SECONDS")
    assert kick.due()
    clock[0] += 4
    assert not kick.due()  # the skipped kick does not move the window
    clock[0] += 1
    assert kick.due()  # five seconds after the first
    assert not kick.due()


def test_zero_seconds_makes_every_kick_due(settings, clock):
    settings.TEST_KICK_SECONDS = 0
    kick = OncePer("TEST_KICK_SECONDS")
    assert [kick.due() for _ in range(3)] == [True, True, True]


def test_the_setting_is_read_on_every_call(settings, clock):
    settings.TEST_KICK_SECONDS = 60
    kick = OncePer("TEST_KICK_SECONDS")
    assert kick.due()
    assert not kick.due()
    settings.TEST_KICK_SECONDS = 0
    assert kick.due()
