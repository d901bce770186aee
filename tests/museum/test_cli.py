"""The ``museum`` command: staff logins, the demo seed, key rotation."""

from __future__ import annotations

from datetime import date, time

from sqlalchemy import func, select

from admin.models import CalendarTemplate, QuotaRule
from museum import db
from museum.models import Account, PoolKind, Role, Slot


def test_create_staff_creates_then_updates_a_login(app, client):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-staff", "Ops@Museum.example", "--role", "ops", "--password", "first-pass-1"])
    assert result.exit_code == 0, result.output
    assert "ops@museum.example is ops" in result.output
    result = runner.invoke(
        args=["create-staff", "ops@museum.example", "--role", "admin", "--password", "second-pass-2"]
    )
    assert result.exit_code == 0
    db.session().commit()
    account = db.session().scalar(select(Account).where(Account.email == "ops@museum.example"))
    assert account.role is Role.ADMIN
    login = client.post("/api/v1/auth/token", json={"email": "ops@museum.example", "password": "second-pass-2"})
    assert login.status_code == 200
    assert login.get_json()["role"] == "admin"
    short = runner.invoke(args=["create-staff", "x@museum.example", "--role", "gate", "--password", "short"])
    assert short.exit_code != 0
    assert "password" in short.output


def test_demo_is_a_template_and_a_summer_rule_set_with_the_slots_they_give_and_prints_each_login_once(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    for role in ("admin", "ops", "gate", "visitor"):
        assert sum(line.split()[0] == role for line in result.output.splitlines() if line.startswith("  ")) == 1
    db.session().commit()
    assert [t.name for t in db.session().scalars(select(CalendarTemplate))] == ["Main hall week"]
    rules = {rule.action.value: rule for rule in db.session().scalars(select(QuotaRule))}
    assert set(rules) == {"open_day", "scale_capacity", "add_window", "release_pool"}
    assert (rules["open_day"].date_from, rules["open_day"].date_to) == (date(2026, 7, 1), date(2026, 8, 31))
    slots = db.session().scalars(select(Slot)).unique().all()
    days = {slot.date for slot in slots}
    # The booking window (7 days) and the margin, from the frozen Friday 10 July: in summer, Mondays open
    # and every day has the late window too.
    assert len(days) == 22 and date(2026, 7, 13) in days
    assert len(slots) == 3 * 22 + 1  # and today's demo window, 10:05-12:05 (see test_demo.py)
    tuesday_morning = next(s for s in slots if s.date == date(2026, 7, 14) and s.start_time == time(9, 30))
    assert tuesday_morning.pool(PoolKind.INDIVIDUAL).capacity == 15000  # 12,000 and 25 %
    again = runner.invoke(args=["demo", "--no-serve"])
    assert again.exit_code == 0
    assert db.session().scalar(select(func.count(Slot.id))) == 3 * 22 + 1


def test_keys_rotate_announces_the_new_key(app):
    result = app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0
    assert "is now active" in result.output
