"""The museum's own profile: its name, address, opening hours, how to get there, its rules and policies and
how to reach it, each text in Chinese and in English. One row, edited by operations and shown to visitors
(the header's brand, the home page, the booking form, the ticket page) and by ``GET /api/v1/museum``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from flask import g
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, String, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from museum import db
from museum.audit import record_event
from museum.clock import utcnow
from museum.db import Base, UTCDateTime
from museum.errors import Invalid
from museum.models import Account

LANGUAGES = ("zh", "en")
#: The one row's id.
PROFILE_ID = 1
#: Each text of the profile and the most characters it may have (in each language).
TEXT_LIMITS = {
    "name": 80,
    "address": 200,
    "opening_hours": 1000,
    "directions": 2000,
    "visiting_rules": 3000,
    "what_to_bring": 1000,
    "child_policy": 1000,
    "senior_policy": 1000,
    "cancellation": 1000,
}
TEXT_FIELDS = tuple(TEXT_LIMITS)
MAX_PHONE = 40
MAX_EMAIL = 254
AUDIT_TARGET = "museum:profile"
_PHONE = re.compile(r"[0-9+()\- ]{3,40}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class MuseumProfile(Base):
    """The museum's profile: one row (id 1). Texts are plain text; line breaks are kept as written."""

    __tablename__ = "museum_profiles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name_zh: Mapped[str] = mapped_column(String(TEXT_LIMITS["name"]), default="")
    name_en: Mapped[str] = mapped_column(String(TEXT_LIMITS["name"]), default="")
    address_zh: Mapped[str] = mapped_column(String(TEXT_LIMITS["address"]), default="")
    address_en: Mapped[str] = mapped_column(String(TEXT_LIMITS["address"]), default="")
    opening_hours_zh: Mapped[str] = mapped_column(Text, default="")
    opening_hours_en: Mapped[str] = mapped_column(Text, default="")
    directions_zh: Mapped[str] = mapped_column(Text, default="")
    directions_en: Mapped[str] = mapped_column(Text, default="")
    visiting_rules_zh: Mapped[str] = mapped_column(Text, default="")
    visiting_rules_en: Mapped[str] = mapped_column(Text, default="")
    what_to_bring_zh: Mapped[str] = mapped_column(Text, default="")
    what_to_bring_en: Mapped[str] = mapped_column(Text, default="")
    child_policy_zh: Mapped[str] = mapped_column(Text, default="")
    child_policy_en: Mapped[str] = mapped_column(Text, default="")
    senior_policy_zh: Mapped[str] = mapped_column(Text, default="")
    senior_policy_en: Mapped[str] = mapped_column(Text, default="")
    cancellation_zh: Mapped[str] = mapped_column(Text, default="")
    cancellation_en: Mapped[str] = mapped_column(Text, default="")
    #: The museum's public phone number and e-mail address (not a person's).
    phone: Mapped[str] = mapped_column(String(MAX_PHONE), default="")
    email: Mapped[str] = mapped_column(String(MAX_EMAIL), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(254), default="")

    def text(self, field: str, lang: str) -> str:
        return getattr(self, f"{field}_{lang}")


@dataclass(frozen=True)
class ProfileInput:
    """A whole profile as an editor gives it: ``texts[lang][field]``, the phone and the e-mail address."""

    texts: dict[str, dict[str, str]]
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class LocalProfile:
    """The profile in one language, for a page: a text left empty in that language is taken from the other."""

    lang: str
    name: str
    address: str
    opening_hours: str
    directions: str
    visiting_rules: str
    what_to_bring: str
    child_policy: str
    senior_policy: str
    cancellation: str
    phone: str
    email: str
    updated_at: datetime


def get_profile() -> MuseumProfile | None:
    """The museum's profile, or None before anyone has written one."""
    return db.session().scalar(select(MuseumProfile).where(MuseumProfile.id == PROFILE_ID))


def localise(profile: MuseumProfile, lang: str) -> LocalProfile:
    """The profile in ``lang`` ("zh" or "en"), each empty text filled from the other language."""
    lang = "en" if lang.startswith("en") else "zh"
    other = "zh" if lang == "en" else "en"
    texts = {field: profile.text(field, lang) or profile.text(field, other) for field in TEXT_FIELDS}
    return LocalProfile(lang=lang, phone=profile.phone, email=profile.email, updated_at=profile.updated_at, **texts)


def page_language() -> str:
    return "en" if str(get_locale() or "zh").startswith("en") else "zh"


def page_profile() -> LocalProfile | None:
    """The profile in the page's language (read once per request), or None when the museum has none."""
    if "museum_profile" not in g:
        profile = get_profile()
        g.museum_profile = localise(profile, page_language()) if profile is not None and _has_name(profile) else None
    return g.museum_profile


def _has_name(profile: MuseumProfile) -> bool:
    return bool(profile.name_zh or profile.name_en)


def _clean(value: str | None) -> str:
    """Text as stored: line breaks as ``\\n``, no spaces at the ends of the text or of its lines."""
    lines = (value or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip()


def check_profile(given: ProfileInput) -> dict[str, str]:
    """The profile's column values, cleaned; raises ``Invalid`` naming every bad field (``zh.name``, ``phone``)."""
    errors: dict[str, object] = {}
    values: dict[str, str] = {}
    for lang in LANGUAGES:
        texts = given.texts.get(lang) or {}
        for field, limit in TEXT_LIMITS.items():
            value = _clean(texts.get(field))
            if len(value) > limit:
                errors[f"{lang}.{field}"] = _l("Use at most %(num)d characters.", num=limit)
            elif "\x00" in value:
                errors[f"{lang}.{field}"] = _l("Contains characters that cannot be stored.")
            values[f"{field}_{lang}"] = value
        if not values[f"name_{lang}"]:
            errors[f"{lang}.name"] = _l("Give the museum's name.")
    phone, email = _clean(given.phone), _clean(given.email)
    if phone and not _PHONE.fullmatch(phone):
        errors["phone"] = _l("Give a phone number: digits, spaces, +, - and brackets.")
    if email and (len(email) > MAX_EMAIL or not _EMAIL.fullmatch(email)):
        errors["email"] = _l("Give an e-mail address.")
    if errors:
        raise Invalid(errors)
    return {**values, "phone": phone, "email": email}


def save_profile(actor: Account, given: ProfileInput, reason: str = "") -> MuseumProfile:
    """Replace the museum's profile with ``given`` (creating it the first time).

    Raises ``Invalid`` (422) naming each bad field; nothing is written then. One transaction, with an audit
    event (``museum.profile`` on ``museum:profile``) holding the old and new value of each changed field.
    """
    values = check_profile(given)
    for attempt in range(2):
        try:
            with db.write_transaction() as session:
                profile = session.get(MuseumProfile, PROFILE_ID, with_for_update=True, populate_existing=True)
                if profile is None:
                    profile = MuseumProfile(id=PROFILE_ID, **dict.fromkeys(values, ""))
                    session.add(profile)
                old = {key: getattr(profile, key) or "" for key in values}
                changed = [key for key in values if values[key] != old[key]]
                for key in changed:
                    setattr(profile, key, values[key])
                if changed:
                    profile.updated_at, profile.updated_by = utcnow(), actor.email
                    record_event(session, actor.email, "museum.profile", AUDIT_TARGET,
                                 {key: old[key] for key in changed}, {key: values[key] for key in changed},
                                 reason)  # fmt: skip
                session.flush()
            break
        except IntegrityError:
            if attempt:  # two first saves raced: the second now finds the first's row and updates it
                raise
    g.pop("museum_profile", None)
    return profile
