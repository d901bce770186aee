"""The museum's profile over the API: anyone reads it, operations and administrators replace it."""

from __future__ import annotations

from flask import Blueprint, current_app

from museum.apidoc import PUBLIC, endpoint, only
from museum.auth import current_account
from museum.errors import NotFound
from museum.models import Role
from museum.profile import ProfileInput, get_profile, localise, page_language, save_profile
from museum.profile_schemas import ProfileAnswer, ProfileUpdate

bp = Blueprint("api_museum", __name__, url_prefix="/api/v1")
OPS = only(Role.OPS, Role.ADMIN)


def _answer(profile) -> ProfileAnswer:
    return ProfileAnswer.of(profile, localise(profile, page_language()), current_app.config["MUSEUM"].tz)


@bp.get("/museum")
@endpoint(ProfileAnswer, who=PUBLIC, errors=(404,))
def museum_profile():
    """The museum's profile: name, address, opening hours, directions, rules, policies and contact, in the
    caller's language (`?lang=zh|en`, else Accept-Language) and in both languages. 404 before it is written."""
    profile = get_profile()
    if profile is None:
        raise NotFound("museum profile")
    return _answer(profile)


@bp.put("/admin/museum")
@endpoint(ProfileAnswer, who=OPS)
def replace_museum_profile(json: ProfileUpdate):
    """Replace the museum's profile (both languages at once); the change is audited."""
    texts = {"zh": json.zh.model_dump(), "en": json.en.model_dump()}
    profile = save_profile(current_account(), ProfileInput(texts, json.phone, json.email))
    return _answer(profile)
