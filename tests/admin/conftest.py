"""Fixtures of the back office's tests."""

from __future__ import annotations

import pytest

from museum.models import Role
from tests.booking.test_pages import log_in
from tests.conftest import PerRequestContextClient
from tests.helpers import make_account


@pytest.fixture
def login_as(app):
    """A client of its own logged in with a new account of the given role, in English."""

    def open_as(role: Role, email: str | None = None):
        client = PerRequestContextClient(app, app.response_class, use_cookies=True)
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        account = make_account(role, email)
        log_in(client, account.email)
        client.account = account
        return client

    return open_as
