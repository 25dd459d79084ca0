"""The delivery PDF on the production stack: an owner asks gunicorn for it, a real Celery
worker builds it into the shared MEDIA_ROOT, and gunicorn hands it back; the share image
is served cookie-free."""

import io
from pathlib import Path

import pytest
import requests
from allauth.account.models import EmailAddress
from pypdf import PdfReader

from delivery.models import DeliveryDocument
from letters.models import LetterRole
from tests.conftest import eventually
from tests.factories import (
    LetterFactory,
    LetterRoleFactory,
    NamedSignatoryFactory,
    SignatureFactory,
)

from .conftest import Stack
from .test_moderation_stack import logged_in, post_form


@pytest.fixture
def stack_env(tmp_path: Path) -> dict[str, str]:
    return {"MEDIA_ROOT": str(tmp_path / "media")}


def test_the_worker_builds_the_pdf_and_web_hands_it_out(stack: Stack) -> None:
    letter = LetterFactory(slug="delivered", title="Delivered by the worker")
    NamedSignatoryFactory(letter=letter, name="Nora Named")
    for i in range(25):
        SignatureFactory(letter=letter, verified=True, name=f"Stack Signer {i:02d}")
    owner = LetterRoleFactory(letter=letter, role=LetterRole.Role.OWNER).user
    EmailAddress.objects.create(user=owner, email=owner.email, verified=True, primary=True)

    session = logged_in(stack, owner.email)
    url = f"{stack.base_url}/letters/delivered/delivery/"
    answer = post_form(session, url, {})
    assert answer.status_code == 200, answer.text[-2000:]
    document = DeliveryDocument.objects.get(letter=letter)

    def done() -> bool:
        document.refresh_from_db()
        return document.state == DeliveryDocument.State.DONE

    assert eventually(done, timeout=60), stack.log_tail()
    assert "Download the PDF" in session.get(url, timeout=10).text
    download = session.get(f"{url}download/?document={document.pk}", timeout=30)
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith("attachment;")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(download.content)).pages)
    assert text.index("Nora Named") < text.index("Stack Signer 00")
    assert requests.get(f"{url}download/", timeout=10, allow_redirects=False).status_code == 302

    image = requests.get(f"{stack.base_url}/letters/delivered/og.png", timeout=30)
    assert image.status_code == 200
    assert image.headers["Content-Type"] == "image/png"
    assert "Set-Cookie" not in image.headers
