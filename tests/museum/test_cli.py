"""The ``museum`` command: staff logins, the demo seed, key rotation."""

from __future__ import annotations

from sqlalchemy import func, select

from museum import db
from museum.models import Account, Role, Slot


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


def test_demo_seeds_two_windows_on_seven_open_days_and_prints_each_login_once(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    for role in ("admin", "ops", "gate", "visitor"):
        assert sum(line.split()[0] == role for line in result.output.splitlines() if line.startswith("  ")) == 1
    db.session().commit()
    slots = db.session().scalars(select(Slot)).unique().all()
    assert len(slots) == 14
    assert len({slot.date for slot in slots}) == 7
    assert all(slot.date.weekday() != 0 for slot in slots)
    again = runner.invoke(args=["demo", "--no-serve"])
    assert again.exit_code == 0
    assert db.session().scalar(select(func.count(Slot.id))) == 14


def test_keys_rotate_announces_the_new_key(app):
    result = app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0
    assert "is now active" in result.output
