"""Wiring of the museum's profile into the app: its API, its back-office page, and what pages read of it."""

from __future__ import annotations

from flask import Flask, current_app
from flask_babel import gettext as _

from museum import db
from museum.profile import LocalProfile, page_profile


def museum_info() -> LocalProfile | None:
    """The museum's profile in the page's language, or None when it has none (templates then show nothing)."""
    try:
        return page_profile()
    except Exception:  # an error page renders with the header too: it must not fail for want of the profile
        current_app.logger.warning("could not load the museum's profile for the page")
        db.session().rollback()
        return None


def museum_brand() -> str:
    """The header's brand: the museum's name in the page's language, else the generic title."""
    profile = museum_info()
    return profile.name if profile is not None else _("Museum tickets")


def register(app: Flask) -> None:
    from admin.profile_views import bp as profile_page
    from museum.extensions import csrf
    from museum.profile_api import bp as profile_api

    csrf.exempt(profile_api)  # bearer clients have no cookie to forge; cookie sessions are checked app-wide
    app.register_blueprint(profile_api)
    app.register_blueprint(profile_page)
    app.add_template_global(museum_info)
    app.add_template_global(museum_brand)
