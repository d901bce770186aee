"""Fixtures of the waiting room's tests: a release a week ahead guarded by a room, and moving the clock
around its release."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from museum.models import Role
from tests.admin.conftest import login_as  # noqa: F401  (the back office's pages are tested here too)
from tests.conftest import FROZEN_NOW, SHANGHAI
from tests.helpers import auth_headers, make_account, make_slot
from waiting.rooms import create_room, forget_rooms

#: The day that opens for booking at 17:00 on the frozen Friday (7 days ahead, at the release time).
VISIT_DAY: date = FROZEN_NOW.date() + timedelta(days=7)
RELEASE = datetime(2026, 7, 10, 17, 0, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def fresh_rooms():
    """Each test reads its own rooms: what a process keeps of the last test's rooms is dropped."""
    forget_rooms()
    yield
    forget_rooms()


@pytest.fixture
def ops():
    return make_account(Role.OPS)


@pytest.fixture
def ops_headers(ops):
    return auth_headers(ops)


@pytest.fixture
def make_room(ops):
    """A room in front of VISIT_DAY's release at 17:00, opening 30 minutes before (settings overridable)."""

    def make(**settings):
        values = {"opens_minutes_before": 30, "admit_per_second": 1.0, "pass_minutes": 10, "lasts_minutes": 60}
        return create_room(ops, VISIT_DAY, settings.pop("release_at", None), **{**values, **settings})

    return make


@pytest.fixture
def visit_slot():
    return make_slot(day=VISIT_DAY, capacity=100)


def at(frozen_time, moment: datetime) -> None:
    frozen_time.move_to(moment)
