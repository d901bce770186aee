"""The back office's page for the museum's profile: its texts in Chinese and English, phone and e-mail."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from admin.navigation import OPS
from museum.auth import current_account, require_role
from museum.errors import DomainError
from museum.messages import error_message
from museum.profile import LANGUAGES, TEXT_FIELDS, TEXT_LIMITS, ProfileInput, get_profile, save_profile

bp = Blueprint("admin_profile", __name__, url_prefix="/admin", template_folder="templates")

#: The profile's texts in the order the form shows them, with their labels and hints.
FIELDS = (
    ("name", _l("Name"), _l("The brand in the header of every page.")),
    ("address", _l("Address"), None),
    ("opening_hours", _l("Opening hours"), _l("Hours, last entry, closed days.")),
    ("directions", _l("How to get there"), _l("Metro, bus, car and parking.")),
    ("what_to_bring", _l("What to bring"), _l("Shown on the booking form and on every ticket.")),
    ("child_policy", _l("Children"), _l("Shown on the booking form.")),
    ("senior_policy", _l("Seniors"), None),
    ("cancellation", _l("Cancellation terms"), _l("Shown on the booking form.")),
    ("visiting_rules", _l("Visiting rules"), None),
)
LANGUAGE_LABELS = {"zh": _l("In Chinese"), "en": _l("In English")}
assert {field for field, _label, _hint in FIELDS} == set(TEXT_FIELDS)


def _form_of_profile() -> dict[str, str]:
    profile = get_profile()
    form = {f"{lang}-{field}": profile.text(field, lang) if profile else ""
            for lang in LANGUAGES for field in TEXT_FIELDS}  # fmt: skip
    form["phone"], form["email"] = (profile.phone, profile.email) if profile else ("", "")
    return form


def _render(form: dict, error=None, errors=None, status=200):
    page = render_template("admin/museum_profile.html", form=form, fields=FIELDS, limits=TEXT_LIMITS,
                           languages=LANGUAGES, language_labels=LANGUAGE_LABELS, error=error,
                           errors=errors or {}, profile=get_profile())  # fmt: skip
    return page, status


@bp.get("/museum", endpoint="edit")
@require_role(*OPS)
def edit_profile():
    """The museum's profile, ready to edit."""
    return _render(_form_of_profile())


@bp.post("/museum")
@require_role(*OPS)
def save():
    """Save the whole profile (both languages)."""
    form = {key: request.form.get(key, "") for key in _form_of_profile()}
    texts = {lang: {field: form[f"{lang}-{field}"] for field in TEXT_FIELDS} for lang in LANGUAGES}
    try:
        save_profile(current_account(), ProfileInput(texts, form["phone"], form["email"]))
    except DomainError as exc:
        errors = {key.replace(".", "-"): str(value) for key, value in (exc.fields or {}).items()}
        return _render(form, error_message(exc.code, exc.message), errors, exc.status)
    flash(_("The museum's profile is saved. Visitors see it now."), "success")
    return redirect(url_for("admin_profile.edit"), code=303)
