"""Settings come from defaults, then MUSEUM_* variables; bad values stop the app with a clear message."""

from __future__ import annotations

import pytest

from museum.config import ConfigError, load_settings


def test_environment_overrides_defaults(tmp_path):
    settings = load_settings(
        tmp_path, environ={"MUSEUM_TIMEZONE": "Europe/Berlin", "MUSEUM_RATELIMIT_ENABLED": "0",
                           "MUSEUM_MAX_PERSONS_PER_BOOKING": "4"},
    )  # fmt: skip
    assert settings.TIMEZONE == "Europe/Berlin"
    assert settings.RATELIMIT_ENABLED is False
    assert settings.MAX_PERSONS_PER_BOOKING == 4
    assert settings.DATABASE_URL == f"sqlite:///{tmp_path / 'museum.db'}"


def test_embedded_default_keeps_its_generated_secret(tmp_path):
    first = load_settings(tmp_path, environ={})
    second = load_settings(tmp_path, environ={})
    assert first.SECRET_KEY == second.SECRET_KEY
    assert len(first.SECRET_KEY) >= 32


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("MUSEUM_TIMEZONE", "Mars/Olympus", "MUSEUM_TIMEZONE"),
        ("MUSEUM_RATELIMIT_ENABLED", "maybe", "MUSEUM_RATELIMIT_ENABLED"),
        ("MUSEUM_MAX_PERSONS_PER_BOOKING", "five", "MUSEUM_MAX_PERSONS_PER_BOOKING"),
        ("MUSEUM_DATABASE_URL", "mysql://x", "MUSEUM_DATABASE_URL"),
        ("MUSEUM_SECRET_KEY", "short", "MUSEUM_SECRET_KEY"),
        ("MUSEUM_BOOKING_RELEASE_TIME", "5pm", "MUSEUM_BOOKING_RELEASE_TIME"),
    ],
)
def test_bad_values_fail_at_start_naming_the_variable(tmp_path, variable, value, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(tmp_path, environ={variable: value})


def test_group_rules_must_make_sense(tmp_path):
    for environ in ({"MUSEUM_GROUP_MIN_SIZE": "20", "MUSEUM_GROUP_MAX_SIZE": "10"},
                    {"MUSEUM_GROUP_MIN_DAYS_AHEAD": "3", "MUSEUM_GROUP_MAX_DAYS_AHEAD": "2"}):  # fmt: skip
        with pytest.raises(ConfigError, match="MUSEUM_GROUP_MAX"):
            load_settings(tmp_path, {"SECRET_KEY": "x" * 20}, environ=environ)


def test_an_unknown_rate_limit_storage_stops_the_app(tmp_path):
    with pytest.raises(ConfigError, match="MUSEUM_RATELIMIT_STORAGE_URL"):
        load_settings(tmp_path, {"SECRET_KEY": "x" * 20, "RATELIMIT_STORAGE_URL": "mongodb://nowhere"})
