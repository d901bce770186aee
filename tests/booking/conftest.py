"""Fixtures of the booking tests that more than one module uses."""

from __future__ import annotations

import dataclasses

import pytest


@pytest.fixture
def micro_cache(app, monkeypatch):
    """The micro-cache on, as in production (tests/conftest.py turns it off), empty."""
    monkeypatch.setitem(app.config, "MUSEUM", dataclasses.replace(app.config["MUSEUM"], PUBLIC_CACHE_SECONDS=1))
    app.extensions["museum.public_cache"].clear()
    yield
    app.extensions["museum.public_cache"].clear()
