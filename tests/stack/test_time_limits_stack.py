"""A real bulk worker enforces the delivery PDF's time limit: the build is stopped, the
document marked failed with the reason, its partial file removed, and the worker goes on
to the next job."""

from pathlib import Path

import pytest
from allauth.account.models import EmailAddress

from delivery.models import DeliveryDocument
from letters.models import LetterRole
from tests.conftest import eventually
from tests.factories import LetterFactory, LetterRoleFactory, UserFactory

from .conftest import Stack
from .test_moderation_stack import logged_in, post_form
from .test_queues_stack import big_letter

LIMIT_SECONDS = 2
# On a quiet machine 100,000 signatures make a PDF in under 2 s: this one must take many
# times the limit whatever the machine's load, and the small one a fraction of it.
BIG_LETTER_SIGNATURES = 800_000


@pytest.fixture
def stack_env(tmp_path: Path) -> dict[str, str]:
    return {
        "MEDIA_ROOT": str(tmp_path / "media"),
        "DELIVERY_PDF_TIME_LIMIT": str(LIMIT_SECONDS),
    }


def test_a_pdf_past_its_time_limit_is_stopped_and_marked_failed(
    stack: Stack, stack_env: dict[str, str]
) -> None:
    owner = UserFactory()
    EmailAddress.objects.create(user=owner, email=owner.email, verified=True, primary=True)
    big = big_letter("too-big-for-the-limit", owner, signatures=BIG_LETTER_SIGNATURES)
    small = LetterFactory(slug="small-enough")
    LetterRoleFactory(letter=small, user=owner, role=LetterRole.Role.OWNER)
    session = logged_in(stack, owner.email)
    for letter in (big, small):
        answer = post_form(session, f"{stack.base_url}/letters/{letter.slug}/delivery/", {})
        assert answer.status_code == 200, answer.text[-2000:]
    stopped = DeliveryDocument.objects.get(letter=big)

    def finished() -> bool:
        stopped.refresh_from_db()
        return not stopped.in_progress

    # Well before the hard limit (a minute later) would kill the process.
    assert eventually(finished, timeout=40), stack.log_tail()
    assert stopped.state == DeliveryDocument.State.FAILED
    assert stopped.error.startswith("Stopped after 1 minute,"), stopped.error
    assert stopped.started_at and stopped.finished_at
    assert (stopped.finished_at - stopped.started_at).total_seconds() < 30
    media = Path(stack_env["MEDIA_ROOT"])
    assert not list(media.rglob("*.partial"))

    done = DeliveryDocument.objects.get(letter=small)
    assert eventually(
        lambda: DeliveryDocument.objects.get(pk=done.pk).state == DeliveryDocument.State.DONE,
        timeout=60,
    ), stack.log_tail()
    page = session.get(f"{stack.base_url}/letters/{big.slug}/delivery/", timeout=10).text
    assert "DELIVERY_PDF_TIME_LIMIT" in page
