"""Every letter-scoped authoring and moderation view, for every kind of visitor.

The views are found from the URL configuration (those wrapped by `letter_role_required`),
so a view added later is covered without touching this file.
"""

from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from letters.models import AuditEntry, Letter, LetterRole, LetterTranslation, NamedSignatory
from tests.factories import LetterFactory, LetterRoleFactory, SignatureFactory, UserFactory
from tests.responses import TestResponse

pytestmark = pytest.mark.django_db


def _walk(patterns: list, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


def role_views() -> list[tuple[str, tuple[str, ...]]]:
    """(route, roles allowed) for every view behind letter_role_required."""
    found = []
    for route, pattern in _walk(get_resolver().url_patterns):
        roles = getattr(pattern.callback, "letter_roles", None)
        if roles:
            found.append((route, tuple(roles)))
    return sorted(found)


ROLE_VIEWS = role_views()


def test_every_letter_page_of_the_team_is_covered() -> None:
    routes = {route for route, _ in ROLE_VIEWS}
    assert "letters/<slug:slug>/moderation/" in routes
    assert "letters/<slug:slug>/moderation/invalidate/" in routes
    assert "letters/<slug:slug>/moderation/export.csv" in routes
    assert "letters/<slug:slug>/translations/<lang:language>/" in routes


def _translation(letter: Letter) -> LetterTranslation:
    translation, _ = LetterTranslation.objects.get_or_create(
        letter=letter, language="fr", defaults={"title": "Lettre", "body": "Texte."}
    )
    return translation


def _url(route: str, letter: Letter) -> tuple[str, bool]:
    """The route filled in for the letter; and whether its other arguments name real objects
    (if not, an allowed role may also get a 404 for the missing object)."""
    entry = AuditEntry.objects.create(letter=letter, action=AuditEntry.Action.HIDE)
    url = route.replace("<slug:slug>", letter.slug)
    real = True
    named = NamedSignatory.objects.create(letter=letter, name="Named Person", affiliation="Guild")
    values = {
        "<int:entry_id>": entry.pk,
        "<int:signature_id>": letter.signatures.values_list("pk", flat=True).first(),
        "<int:named_id>": named.pk,
        "<lang:language>": _translation(letter).language,
    }
    for name, value in values.items():
        url = url.replace(name, str(value))
    if "<" in url:
        real = False
        url = url.split("<", 1)[0] + "999999/"
    return "/" + url, real


def _request(client: Client, url: str) -> TestResponse:
    response = client.get(url)
    if response.status_code == 405:
        response = client.post(url, {})
    return response


@pytest.fixture
def letter() -> Letter:
    letter = LetterFactory(slug="guarded")
    SignatureFactory(letter=letter, verified=True)
    return letter


@pytest.mark.parametrize(("route", "roles"), ROLE_VIEWS)
def test_anonymous_visitors_are_sent_to_log_in(client: Client, letter: Letter, route, roles):
    url, _ = _url(route, letter)
    response = _request(client, url)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize(("route", "roles"), ROLE_VIEWS)
def test_accounts_without_a_role_get_404(client: Client, letter: Letter, route, roles):
    client.force_login(UserFactory())
    url, _ = _url(route, letter)
    assert _request(client, url).status_code == 404


@pytest.mark.parametrize(("route", "roles"), ROLE_VIEWS)
def test_the_team_of_another_letter_gets_404(client: Client, letter: Letter, route, roles):
    other_owner = LetterRoleFactory(role=LetterRole.Role.OWNER).user
    client.force_login(other_owner)
    url, _ = _url(route, letter)
    assert _request(client, url).status_code == 404


@pytest.mark.parametrize("role", [LetterRole.Role.OWNER, LetterRole.Role.MODERATOR])
@pytest.mark.parametrize(("route", "roles"), ROLE_VIEWS)
def test_each_role_gets_exactly_the_views_it_holds(
    client: Client, letter: Letter, route, roles, role
):
    user = LetterRoleFactory(letter=letter, role=role).user
    client.force_login(user)
    url, real = _url(route, letter)
    status = _request(client, url).status_code
    if role not in roles:
        assert status == 404
    elif real:
        assert status in (200, 302, 400), f"{url} answered {status} to its {role}"
    else:
        assert status in (200, 302, 400, 404)


@pytest.mark.parametrize(("route", "roles"), ROLE_VIEWS)
def test_site_staff_open_every_team_page_of_any_letter(
    client: Client, letter: Letter, route, roles
):
    # An imported or abandoned letter may have no owner: staff must still reach it.
    client.force_login(UserFactory(is_staff=True))
    url, real = _url(route, letter)
    status = _request(client, url).status_code
    assert status in ((200, 302, 400) if real else (200, 302, 400, 404)), (url, status)


def test_a_staff_visit_is_audited_once_per_letter(client: Client, letter: Letter) -> None:
    staff = UserFactory(is_staff=True)
    client.force_login(staff)
    for _ in range(3):
        assert client.get(f"/letters/{letter.slug}/moderation/").status_code == 200
    client.get(f"/letters/{letter.slug}/team/")
    entries = AuditEntry.objects.filter(letter=letter, action=AuditEntry.Action.STAFF_ACCESS)
    assert entries.count() == 1
    assert entries.get().actor == staff
    assert entries.get().detail["path"] == f"/letters/{letter.slug}/moderation/"
