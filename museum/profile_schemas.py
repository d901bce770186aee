"""API shapes of the museum's profile."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, create_model

from museum.profile import MAX_EMAIL, MAX_PHONE, TEXT_FIELDS, TEXT_LIMITS, LocalProfile, MuseumProfile
from museum.schemas import AnswerModel, Moment, RequestModel, server_checked, text

_DESCRIPTIONS = {
    "name": "The museum's name (the brand in every page's header).",
    "address": "Its postal address.",
    "opening_hours": "Opening hours, last entry and closed days.",
    "directions": "How to get there: metro, bus, car.",
    "visiting_rules": "Rules for visitors inside the museum.",
    "what_to_bring": "What to bring: the original ID document the visit was booked with.",
    "child_policy": "Children: age limits, accompanying adults, free tickets.",
    "senior_policy": "Seniors: free or reduced tickets, how to book.",
    "cancellation": "Cancellation terms.",
}


def _text_field(field: str) -> object:
    description = _DESCRIPTIONS[field] + " Plain text; line breaks are kept."
    if field == "name":
        return text(TEXT_LIMITS[field], min_length=1, description=server_checked(description, "not only spaces."))
    return text(TEXT_LIMITS[field], description=description + " Empty: the other language's text is shown.")


#: The profile's texts in one language.
ProfileTexts = create_model(
    "ProfileTexts",
    __base__=RequestModel,
    __doc__="The profile's texts in one language.",
    **{field: (str, _text_field(field)) for field in TEXT_FIELDS},
)
#: The same texts, as answers give them (always all of them).
ProfileTextsAnswer = create_model(
    "ProfileTextsAnswer",
    __base__=AnswerModel,
    __doc__="The profile's texts in one language, as written (empty where nothing was written).",
    **{field: (str, Field(description=_DESCRIPTIONS[field])) for field in TEXT_FIELDS},
)


class ProfileUpdate(RequestModel):
    """The whole profile: it replaces what was there. Every change is in the audit log (`museum:profile`)."""

    zh: ProfileTexts = Field(description="The texts in Chinese.")
    en: ProfileTexts = Field(description="The texts in English.")
    phone: str = text(
        MAX_PHONE,
        description=server_checked("The museum's public phone number (empty: none).", "digits, spaces, + - ( )."),
    )
    email: str = text(
        MAX_EMAIL,
        description=server_checked("The museum's public e-mail address (empty: none).", "an @ with text around it."),
    )


class ProfileAnswer(AnswerModel):
    """The profile in the caller's language (each text falling back to the other language when it is
    empty), and as written in both languages."""

    lang: Literal["zh", "en"] = Field(
        description="The language of the top-level texts (`?lang=`, else the Accept-Language header)."
    )
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
    zh: ProfileTextsAnswer
    en: ProfileTextsAnswer
    updated_at: Moment

    @classmethod
    def of(cls, profile: MuseumProfile, local: LocalProfile, tz) -> ProfileAnswer:
        texts = {field: getattr(local, field) for field in TEXT_FIELDS}
        both = {lang: ProfileTextsAnswer(**{field: profile.text(field, lang) for field in TEXT_FIELDS})
                for lang in ("zh", "en")}  # fmt: skip
        return cls(lang=local.lang, phone=profile.phone, email=profile.email,
                   updated_at=profile.updated_at.astimezone(tz), **texts, **both)  # fmt: skip
