"""What the fuzz tests share: the site they attack, the forms found on its pages, a
snapshot of everything stored, and the one check every request must pass."""

import copy
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

from allauth.account.models import EmailAddress
from django.apps import apps
from django.contrib import messages
from django.contrib.messages import get_messages
from django.core import mail
from django.core.cache import cache
from django.db import connection, transaction
from django.forms import BaseForm, BaseFormSet
from django.test import Client
from django.urls import Resolver404, resolve, reverse

from accounts.models import User
from letters.models import Letter, LetterRole
from letters.services import invitation_token
from petition.reconfirm.services import make_reconfirm_token
from tests.factories import (
    InvitationFactory,
    LetterFactory,
    LetterRoleFactory,
    SignatureFactory,
    UserFactory,
)
from tests.responses import TestResponse
from tests.test_privacy import SitePages, site_pages

# The apps whose rows a refused request must leave exactly as they were: the project's own
# and allauth's (addresses, authenticators).
STORED_APPS = ("accounts", "letters", "petition", "mail", "delivery", "account", "mfa")

# --- The site ---------------------------------------------------------------------------


@dataclass
class Site:
    """site_pages()'s open letter with its whole team, plus a draft and a closed letter of
    the same owner, so every button of the editing pages (publish, close, reopen) shows."""

    pages: SitePages
    users: dict[str, User]
    draft: Letter
    closed: Letter
    # (identity, page name) -> address, every page a form may be found on.
    visits: dict[tuple[str, str], str] = field(default_factory=dict)


def build_site() -> Site:
    pages = site_pages()
    letter, owner = pages.letter, pages.owner
    moderator = LetterRoleFactory(letter=letter, role=LetterRole.Role.MODERATOR).user
    staff = UserFactory(is_staff=True, is_superuser=True)
    draft = LetterFactory(slug="fuzz-draft", status=Letter.Status.DRAFT, published_at=None)
    closed = LetterFactory(slug="fuzz-closed", status=Letter.Status.CLOSED)
    for other in (draft, closed):
        LetterRoleFactory(letter=other, user=owner, role=LetterRole.Role.OWNER)
    LetterFactory(slug="fuzz-review", status=Letter.Status.REVIEW, published_at=None)
    invitation = InvitationFactory(letter=letter, invited_by=owner, email="invitee@example.org")
    invitee = UserFactory(email="invitee@example.org")
    # A signer of an earlier version of the text, for the reconfirmation page.
    Letter.objects.filter(pk=letter.pk).update(version=2)
    earlier = SignatureFactory(letter=letter, verified=True, name="Earlier Signer", version=1)
    users = {"owner": owner, "moderator": moderator, "staff": staff, "invitee": invitee}
    for user in users.values():
        # As signing up leaves it; allauth's email page would otherwise add it on a GET.
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    site = Site(pages=pages, users=users, draft=draft, closed=closed)
    for name, url in {**pages.public, **pages.accounts}.items():
        site.visits["anonymous", name] = url
    for name, url in pages.team.items():
        site.visits["owner", name] = url
    for name in ("moderation", "moderation-log", "moderation-entry", "moderation-watch", "team"):
        site.visits["moderator", name] = pages.team[name]
    site.visits["invitee", "invitation"] = reverse(
        "invitation_accept", args=[invitation_token(invitation)]
    )
    site.visits["owner", "translation-delete"] = reverse(
        "letter_translation_delete", args=[letter.slug, "fr"]
    )
    site.visits["owner", "reauthenticate"] = reverse("account_reauthenticate")
    site.visits["anonymous", "reconfirm-earlier"] = reverse(
        "signature_reconfirm",
        args=[letter.slug, make_reconfirm_token(signature_id=earlier.pk, letter_id=letter.pk)],
    )
    site.visits["owner", "edit-draft"] = reverse("letter_edit", args=[draft.slug])
    site.visits["owner", "edit-closed"] = reverse("letter_edit", args=[closed.slug])
    site.visits["staff", "staff-letters"] = reverse("staff_letters")
    return site


def client_for(site: Site, identity: str) -> Client:
    client = Client()
    if identity != "anonymous":
        client.force_login(site.users[identity])
    return client


# --- Forms found on the pages -------------------------------------------------------------


@dataclass
class Field:
    name: str
    kind: str  # the input's type, or "select" / "textarea"
    default: str = ""
    options: list[str] = field(default_factory=list)
    multiple: bool = False


@dataclass
class FoundForm:
    identity: str
    page: str
    action: str
    method: str
    fields: dict[str, Field] = field(default_factory=dict)
    # Named submit buttons: (name, value); pressing one sends it.
    buttons: list[tuple[str, str]] = field(default_factory=list)

    @property
    def route(self) -> str:
        return route_name(self.action)

    @property
    def key(self) -> str:
        return f"{self.identity}:{self.method}:{self.route}:{'/'.join(sorted(self.fields))}"


class FormFinder(HTMLParser):
    """Every <form> of a page with its named fields, as a browser would submit them."""

    def __init__(self, page_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[tuple[str, str, dict[str, Field], list[tuple[str, str]]]] = []
        self._form: tuple[str, str, dict[str, Field], list[tuple[str, str]]] | None = None
        self._select: Field | None = None
        self._textarea: Field | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            action = urljoin(self.page_url, a.get("action") or self.page_url)
            self._form = (action, (a.get("method") or "get").lower(), {}, [])
            self.forms.append(self._form)
            return
        if self._form is None or "disabled" in a:
            return
        fields, buttons = self._form[2], self._form[3]
        name = a.get("name", "")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "image", "button", "reset"):
                if kind == "submit":
                    buttons.append((name, a.get("value", "")))
                return
            known = fields.get(name)
            if kind in ("checkbox", "radio"):
                if known is None:
                    known = fields[name] = Field(name, kind, multiple=kind == "checkbox")
                known.options.append(a.get("value", "on"))
                if "checked" in a:
                    known.default = a.get("value", "on")
            else:
                fields[name] = Field(name, kind, default=a.get("value", ""))
        elif tag == "button" and name and (a.get("type") or "submit") == "submit":
            buttons.append((name, a.get("value", "")))
        elif tag == "select" and name:
            self._select = fields[name] = Field(name, "select", multiple="multiple" in a)
        elif tag == "option" and self._select is not None:
            self._select.options.append(a.get("value", ""))
            if "selected" in a:
                self._select.default = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = fields[name] = Field(name, "textarea")

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.default += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def route_name(url: str) -> str:
    try:
        return resolve(urlsplit(url).path).url_name or "?"
    except Resolver404:
        return "(no route)"


def find_forms(site: Site, only: tuple[str, str] | None = None) -> list[FoundForm]:
    """The distinct forms of every page the site's users see (or of one page), each with
    who sees it."""
    found: dict[str, FoundForm] = {}
    for (identity, page), url in site.visits.items():
        if only is not None and (identity, page) != only:
            continue
        response = client_for(site, identity).get(url)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        finder = FormFinder(url)
        finder.feed(response.content.decode())
        for action, method, fields, buttons in finder.forms:
            form = FoundForm(identity, page, urlsplit(action).path, method, fields, buttons)
            found.setdefault(form.key, form)
    return list(found.values())


# --- What is stored ----------------------------------------------------------------------


def stored_models() -> list[Any]:
    return [model for model in apps.get_models() if model._meta.app_label in STORED_APPS]


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every stored model, in primary-key order, as the database holds it."""
    with connection.cursor() as cursor:
        tables = {}
        for label, sql, params in snapshot_queries():
            cursor.execute(sql, params)
            tables[label] = cursor.fetchall()
    return tables


@functools.cache
def snapshot_queries() -> list[tuple[str, str, tuple[Any, ...]]]:
    # Compiled once: building the queries through the ORM cost more than running them,
    # and a snapshot is taken around most examples.
    return [
        (
            model._meta.label,
            *model._default_manager.order_by("pk").values_list().query.sql_with_params(),
        )
        for model in stored_models()
    ]


def changed_tables(before: dict[str, list], after: dict[str, list]) -> list[str]:
    return [label for label in before if before[label] != after[label]]


# --- The check -------------------------------------------------------------------------


def bound_forms_with_errors(response: TestResponse) -> list[str]:
    found = []
    for context in response.context or []:
        for values in getattr(context, "dicts", [context]):
            for key, value in values.items() if isinstance(values, dict) else []:
                if (isinstance(value, BaseForm) and value.is_bound and value.errors) or (
                    isinstance(value, BaseFormSet) and value.is_bound and value.total_error_count()
                ):
                    found.append(key)
    return found


def error_messages(response: TestResponse) -> list[str]:
    request = getattr(response, "wsgi_request", None)
    if request is None or not hasattr(request, "_messages"):
        return []
    return [str(m) for m in get_messages(request) if m.level >= messages.ERROR]


def refused(response: TestResponse) -> bool:
    """The request was turned down: an error status, a form shown again with its errors,
    or a redirect carrying an error message."""
    return (
        response.status_code >= 400
        or bool(bound_forms_with_errors(response))
        or bool(error_messages(response))
    )


def forget_limits() -> None:
    # Rate limits and cached counts live in the cache; each example starts from none, so
    # a limit reached by an earlier example does not hide the paths behind it.
    from core.cache import local_clear

    cache.clear()
    local_clear()


class Visitor:
    """One user of the site, signed in once for a test. Each example starts from the same
    cookies and the same stored rows (its writes are rolled back), so the snapshot of
    what is stored is taken once, before the first example."""

    def __init__(self, site: Site, identity: str) -> None:
        self.client = client_for(site, identity)
        self._cookies = copy.deepcopy(self.client.cookies)
        self.baseline = snapshot()

    @contextmanager
    def example(self) -> Iterator[Client]:
        # An example that signs in or out rotates the session; its row is rolled back
        # with the rest, so the next example gets the first session's cookie back.
        self.client.cookies = copy.deepcopy(self._cookies)
        with isolated():
            yield self.client


@contextmanager
def isolated() -> Iterator[None]:
    """Run one example in a savepoint that is rolled back, so examples do not pile up
    signatures or letters that change what the next one sees."""
    with transaction.atomic():
        forget_limits()
        mail.outbox = []
        yield
        transaction.set_rollback(True)


def check_request(
    send: Callable[[], TestResponse],
    capture: Callable[..., Any],
    *,
    before: dict[str, list[tuple[Any, ...]]] | None = None,
    must_store_nothing: bool = False,
    may_change: frozenset[str] = frozenset(),
    allowed: frozenset[int] | set[int] = frozenset(),
) -> TestResponse:
    """Send one request and hold it to the contract: never a 5xx (the test client raises
    the view's exception, which fails the example with its traceback), and when it is
    refused nothing stored changes and no email leaves."""
    if before is None:
        before = snapshot()
    with capture(execute=True):
        response = send()
    assert response.status_code < 500 or response.status_code in allowed, response.status_code
    if must_store_nothing or refused(response):
        changed = set(changed_tables(before, snapshot())) - may_change
        assert not changed, f"refused ({response.status_code}) but changed {sorted(changed)}"
        assert not mail.outbox, f"refused but emailed {[m.subject for m in mail.outbox]}"
    return response
