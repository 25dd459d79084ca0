"""Letters from files get a team: `--owner`, a `team:` list in the header, `--admin-owns`
for the demo letter; and an `organiser:` shown to readers."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.models import User
from letters.models import AuditEntry, Letter, LetterRole
from mail.models import OutboundEmail
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LETTER = """---
title: "Fair terms"
slug: fair-terms
status: open
organiser:
  name: "Ada Organiser"
  organization: "Guild of Artists"
team:
  - email: mod@example.org
    role: moderator
  - email: newcomer@example.org
    role: owner
---
The letter's text.
"""


def write(tmp_path: Path, text: str = LETTER) -> Path:
    path = tmp_path / "letter.md"
    path.write_text(text, encoding="utf-8")
    return path


def run(*args: str) -> str:
    out = StringIO()
    call_command("import_letter", *args, stdout=out)
    return out.getvalue()


def test_owner_flag_lets_an_existing_admin_moderate_the_imported_letter(
    tmp_path: Path, client: Client
) -> None:
    admin = User.objects.create_superuser("admin@example.org", "correct horse battery staple")
    UserFactory(email="mod@example.org")
    out = run(str(write(tmp_path)), "--owner", "Admin@Example.org")
    letter = Letter.objects.get(slug="fair-terms")
    assert LetterRole.objects.get(letter=letter, user=admin).role == LetterRole.Role.OWNER
    assert "admin@example.org: role given" in out
    client.force_login(admin)
    assert client.get("/letters/fair-terms/moderation/").status_code == 200
    assert client.get("/letters/fair-terms/edit/").status_code == 200
    assert AuditEntry.objects.filter(letter=letter, action=AuditEntry.Action.ROLE_GRANT).exists()


def test_the_team_list_gives_accounts_their_roles_and_invites_the_rest(tmp_path: Path) -> None:
    moderator = UserFactory(email="mod@example.org")
    out = run(str(write(tmp_path)))
    letter = Letter.objects.get(slug="fair-terms")
    assert LetterRole.objects.get(letter=letter, user=moderator).role == LetterRole.Role.MODERATOR
    invitation = OutboundEmail.objects.get(kind=OutboundEmail.Kind.INVITATION)
    assert invitation.to == "newcomer@example.org"
    assert "newcomer@example.org: no account yet; invitation emailed" in out


def test_importing_again_changes_nothing_more(tmp_path: Path) -> None:
    UserFactory(email="mod@example.org")
    path = str(write(tmp_path))
    run(path)
    run(path)
    letter = Letter.objects.get(slug="fair-terms")
    assert letter.roles.count() == 1
    assert OutboundEmail.objects.filter(kind=OutboundEmail.Kind.INVITATION).count() == 1


def test_admin_owns_gives_the_first_admin_a_letter_nobody_owns(tmp_path: Path) -> None:
    first = User.objects.create_superuser("first@example.org", "correct horse battery staple")
    User.objects.create_superuser("second@example.org", "correct horse battery staple")
    run(str(write(tmp_path, LETTER.split("team:")[0] + "---\nText.\n")), "--admin-owns")
    letter = Letter.objects.get(slug="fair-terms")
    assert list(letter.roles.values_list("user__email", "role")) == [(first.email, "owner")]


def test_without_an_owner_the_command_says_so(tmp_path: Path) -> None:
    out = run(str(write(tmp_path, LETTER.split("team:")[0] + "---\nText.\n")))
    assert "Nobody owns this letter" in out


def test_the_organiser_is_shown_on_the_letter_page(tmp_path: Path, client: Client) -> None:
    run(str(write(tmp_path)))
    letter = Letter.objects.get(slug="fair-terms")
    assert (letter.organiser_name, letter.organiser_organization) == (
        "Ada Organiser",
        "Guild of Artists",
    )
    assert (
        "Started by <bdi>Ada Organiser</bdi>" in client.get("/letters/fair-terms/").content.decode()
    )


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("team: [{email: nobody, role: owner}]", "not an email address"),
        ("team: [{email: a@example.org, role: boss}]", "`role` must be one of"),
        ("team: [{email: a@example.org, colour: red}]", "unknown keys"),
        ("team: a@example.org", "must be a list"),
        ("organiser: Ada", "must have `name`"),
        ("organiser: {name: Ada, phone: 1}", "unknown keys"),
    ],
)
def test_a_bad_team_or_organiser_is_a_clear_error_and_changes_nothing(
    tmp_path: Path, bad: str, message: str
) -> None:
    text = f"---\ntitle: T\nslug: fair-terms\n{bad}\n---\nText.\n"
    with pytest.raises(CommandError, match=message):
        run(str(write(tmp_path, text)))
    assert not Letter.objects.exists()


def test_a_bad_owner_address_is_refused_before_anything_changes(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="not an email address"):
        run(str(write(tmp_path)), "--owner", "not-an-address")
    assert not Letter.objects.exists()
