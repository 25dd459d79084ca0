"""A moderator invalidates a flood over HTTP; a real Celery worker runs the job in batches,
the public count follows, and undoing it (also in the worker) brings the count back."""

import re

import pytest
import requests
from allauth.account.models import EmailAddress

from letters.models import AuditEntry, LetterRole
from petition.models import Signature
from tests.conftest import eventually
from tests.factories import LetterFactory, LetterRoleFactory, SignatureFactory, UserFactory

from .conftest import Stack

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
PASSWORD = "correct horse battery staple"


@pytest.fixture
def stack_env() -> dict[str, str]:
    return {"MODERATION_BATCH_SIZE": "7", "TALLY_INTERVAL_SECONDS": "0.5"}


def logged_in(stack: Stack, email: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{stack.base_url}/accounts/login/", timeout=10)
    response = session.post(
        f"{stack.base_url}/accounts/login/",
        data={
            "login": email,
            "password": PASSWORD,
            "csrfmiddlewaretoken": CSRF.search(page.text).group(1),
        },
        headers={"Referer": f"{stack.base_url}/accounts/login/"},
        timeout=10,
    )
    assert response.status_code == 200 and "sessionid" in session.cookies, response.text[-2000:]
    return session


def post_form(session: requests.Session, url: str, data: dict[str, str]) -> requests.Response:
    page = session.get(url, timeout=10)
    return session.post(
        url,
        data={**data, "csrfmiddlewaretoken": CSRF.search(page.text).group(1)},
        headers={"Referer": url},
        timeout=30,
    )


def public_count(stack: Stack, slug: str) -> int:
    return requests.get(f"{stack.base_url}/api/v1/letters/{slug}", timeout=10).json()[
        "signature_count"
    ]


def test_bulk_invalidation_and_its_undo_run_in_the_worker_and_the_count_follows(
    stack: Stack,
) -> None:
    letter = LetterFactory(slug="flooded")
    moderator = UserFactory(email="mod@example.org")
    EmailAddress.objects.create(user=moderator, email=moderator.email, verified=True, primary=True)
    LetterRoleFactory(letter=letter, user=moderator, role=LetterRole.Role.MODERATOR)
    for i in range(30):
        SignatureFactory(letter=letter, verified=True, email=f"bot{i}@flood.example")
    for i in range(5):
        SignatureFactory(letter=letter, verified=True, email=f"person{i}@example.org")
    assert eventually(lambda: public_count(stack, "flooded") == 35, timeout=20), stack.log_tail()

    session = logged_in(stack, moderator.email)
    url = f"{stack.base_url}/letters/flooded/moderation/invalidate/"
    preview = post_form(session, url, {"domain": "flood.example", "preview": "1"})
    assert "30 signatures match" in preview.text
    started = post_form(session, url, {"domain": "flood.example", "expected": "30", "confirm": "1"})
    assert started.status_code == 200, started.text[-2000:]
    entry = AuditEntry.objects.get(action=AuditEntry.Action.INVALIDATE)

    def state() -> str:
        entry.refresh_from_db()
        return entry.state

    assert eventually(lambda: state() == AuditEntry.State.DONE, timeout=30), stack.log_tail()
    assert entry.signature_count == 30
    assert Signature.objects.filter(moderation="invalidated").count() == 30
    assert eventually(lambda: public_count(stack, "flooded") == 5, timeout=20), stack.log_tail()

    undo_url = f"{stack.base_url}/letters/flooded/moderation/log/{entry.pk}/undo/"
    page = session.get(f"{stack.base_url}/letters/flooded/moderation/log/{entry.pk}/", timeout=10)
    undone = session.post(
        undo_url,
        data={"csrfmiddlewaretoken": CSRF.search(page.text).group(1)},
        headers={"Referer": undo_url},
        timeout=10,
    )
    assert undone.status_code == 200
    assert eventually(lambda: state() == AuditEntry.State.UNDONE, timeout=30), stack.log_tail()
    assert eventually(lambda: public_count(stack, "flooded") == 35, timeout=20), stack.log_tail()
