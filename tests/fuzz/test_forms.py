"""Every form of every page, posted with hostile values, as the user who sees it.

The forms are not listed by hand: each page of the site is fetched as its user and its
<form> elements read, so a field added to a template is fuzzed from then on. FORM_TARGETS
names, for each page, the forms to attack there; test_every_form_found_is_fuzzed fails
when a page shows a form that no target covers.

An example posts the form with a few fields replaced (or dropped, or doubled) and the
rest left valid, so it reaches the code behind validation as well as validation itself.
It must answer below 500, and when it is refused nothing stored may change.
"""

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .budget import fuzz_settings
from .harness import (
    Field,
    FoundForm,
    Site,
    Visitor,
    check_request,
    find_forms,
)
from .strategies import datetime_text, email_text, hostile_text, number_text

pytestmark = pytest.mark.django_db

# (identity, page, route of the form's action)
FORM_TARGETS = [
    ("anonymous", "letter", "signature_submit"),
    ("anonymous", "confirm", "signature_confirm"),
    ("anonymous", "manage-request", "signature_manage_request"),
    ("anonymous", "manage", "signature_manage"),
    ("anonymous", "withdraw", "signature_manage_withdraw"),
    ("anonymous", "affiliation-request", "signature_affiliation_request"),
    ("anonymous", "affiliation-confirm", "affiliation_confirm"),
    ("anonymous", "reconfirm-earlier", "signature_reconfirm"),
    ("anonymous", "home", "set_language"),
    ("anonymous", "home", "home"),
    ("anonymous", "signatories", "signatory_list"),
    ("anonymous", "contact", "letter_contact"),
    ("anonymous", "login", "account_login"),
    ("anonymous", "signup", "account_signup"),
    ("anonymous", "password-reset", "account_reset_password"),
    ("owner", "dashboard", "account_logout"),
    ("owner", "new-letter", "letter_new"),
    ("owner", "edit", "letter_edit"),
    ("owner", "edit-draft", "letter_edit"),
    ("owner", "edit-closed", "letter_edit"),
    ("owner", "edit", "letter_close"),
    ("owner", "edit-draft", "letter_publish"),
    ("owner", "edit-closed", "letter_reopen"),
    ("owner", "preview", "signature_submit"),
    ("owner", "team", "letter_team_invite"),
    ("owner", "team", "letter_invitation_revoke"),
    ("owner", "team", "letter_member_remove"),
    ("owner", "translations", "letter_translations"),
    ("owner", "translation-edit", "letter_translation_edit"),
    ("owner", "translation-delete", "letter_translation_delete"),
    ("owner", "named-signatories", "named_affiliation_action"),
    ("owner", "moderation", "moderation_queue"),
    ("owner", "moderation", "moderation_bulk"),
    ("owner", "moderation", "moderation_affiliation"),
    ("owner", "moderation-invalidate", "moderation_invalidate"),
    ("owner", "moderation-log", "moderation_undo"),
    ("owner", "moderation-watch", "moderation_watch"),
    ("owner", "delivery", "delivery"),
    ("owner", "account-email", "account_email"),
    ("owner", "password-change", "account_change_password"),
    ("owner", "reauthenticate", "account_reauthenticate"),
    ("moderator", "moderation", "moderation_queue"),
    ("moderator", "moderation", "moderation_bulk"),
    ("moderator", "moderation", "moderation_affiliation"),
    ("moderator", "moderation-watch", "moderation_watch"),
    ("moderator", "moderation-log", "moderation_undo"),
    ("invitee", "invitation", "invitation_accept"),
    ("staff", "staff-letters", "staff_letter_approve"),
]

# Valid values by field name (the part after a formset or form prefix), so that the fields
# an example leaves alone pass validation.
GOOD = {
    "name": "Ada Example",
    "email": "ada@example-institute.org",
    "login": "author0@example.org",
    "password": "correct horse battery staple",
    "oldpassword": "correct horse battery staple",
    "password1": "a different horse battery staple",
    "password2": "a different horse battery staple",
    "title": "Open letter for the fuzzer",
    "recipient": "The board",
    "body": "We ask for **fair** terms.",
    "slug": "fuzzed-letter",
    "goal": "100",
    "organization": "Example Institute",
    "city": "Lyon",
    "comment": "Agreed.",
    "domain": "example-institute.org",
    "note": "Corrected a typo",
    "q": "Ada",
    "cidr": "203.0.113.0/24",
    "name_pattern": "Ada*",
    "affiliation": "Union of illustrators",
    "consent": "on",
    "message": "Could we talk about the letter?",
    "subject": "About the letter",
}


def good_value(field: Field) -> str | list[str] | None:
    last = field.name.rsplit("-", 1)[-1]
    if field.kind == "checkbox":
        if field.multiple and len(field.options) > 1:
            return [field.default] if field.default else []
        return field.options[0] if last in ("consent", "show_name") else field.default or None
    if field.kind in ("select", "radio"):
        return field.default or next((o for o in field.options if o), "")
    return GOOD.get(last, field.default)


def typed_values(field: Field) -> st.SearchStrategy[str]:
    kinds = {
        "email": email_text(),
        "number": number_text(),
        "datetime-local": datetime_text(),
        "date": datetime_text(),
    }
    typed = kinds.get(field.kind, hostile_text())
    if field.options:
        typed = st.one_of(st.sampled_from(field.options), typed)
    return typed


def attack(field: Field) -> st.SearchStrategy[Any]:
    """What replaces a field's value: a hostile or wrongly typed value, nothing at all,
    or several values where one is expected."""
    value = typed_values(field)
    many = st.lists(st.one_of(value, st.sampled_from(field.options or [""])), max_size=4)
    return st.one_of(value, st.none(), many, hostile_text())


@st.composite
def submissions(draw: Any, form: FoundForm) -> tuple[dict[str, Any], str | None]:
    data = {name: good_value(field) for name, field in form.fields.items()}
    names = sorted(form.fields)
    if names:
        for name in draw(st.sets(st.sampled_from(names), max_size=min(3, len(names)))):
            data[name] = draw(attack(form.fields[name]))
    if draw(st.booleans()):
        data[draw(hostile_text().filter(lambda k: k not in data))] = draw(hostile_text())
    pressed = draw(st.sampled_from([None, *form.buttons]))
    if pressed is not None:
        data[pressed[0]] = pressed[1] if draw(st.booleans()) else draw(hostile_text())
    data = {name: value for name, value in data.items() if value is not None}
    return data, pressed[0] if pressed else None


def target_id(target: tuple[str, str, str]) -> str:
    return "-".join(target)


@pytest.mark.parametrize("target", FORM_TARGETS, ids=target_id)
def test_hostile_form_posts_never_fail_and_refusals_store_nothing(
    site: Site, target: tuple[str, str, str], django_capture_on_commit_callbacks: Callable
) -> None:
    identity, page, route = target
    forms = [form for form in find_forms(site, only=(identity, page)) if form.route == route]
    assert forms, f"no form for {route} on {page} as {identity}"
    visitor = Visitor(site, identity)

    @fuzz_settings(weight=1)
    @given(st.data())
    def post(data: st.DataObject) -> None:
        form = data.draw(st.sampled_from(forms), label="form")
        values, pressed = data.draw(submissions(form), label="values")
        with visitor.example() as client:
            send = (
                (lambda: client.get(form.action, values))
                if form.method == "get"
                else (lambda: client.post(form.action, values))
            )
            check_request(
                send,
                django_capture_on_commit_callbacks,
                before=visitor.baseline,
                must_store_nothing=form.method == "get" or pressed == "preview",
            )

    post()


def test_every_form_found_is_fuzzed(site: Site) -> None:
    fuzzed = {route for _, _, route in FORM_TARGETS}
    found = {(form.identity, form.page, form.route) for form in find_forms(site)}
    assert {route for _, _, route in found} - fuzzed == set(), found
