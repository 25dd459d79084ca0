"""An owner prepares the delivery PDF in a real browser: the page shows the job waiting,
reloads itself (no JavaScript) until the worker has built it, and the download is a PDF
with the named signatories first, then the public signatures."""

import io

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import expect
from pypdf import PdfReader

from delivery.models import DeliveryDocument
from delivery.services import delivery_document_build
from letters.models import Letter, LetterRole
from tests.factories import (
    LetterFactory,
    LetterRoleFactory,
    NamedSignatoryFactory,
    SignatureFactory,
)

from .conftest import screenshot, submit

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "correct horse battery staple"


@pytest.fixture
def owner_email(settings, live_server, tmp_path) -> str:
    settings.SITE_URL = live_server.url
    settings.MEDIA_ROOT = tmp_path / "media"
    letter = LetterFactory(slug="to-deliver", title="Deliver this letter", recipient="The board")
    NamedSignatoryFactory(letter=letter, name="Nadia Named", affiliation="Guild of painters")
    for i in range(40):
        SignatureFactory(letter=letter, verified=True, name=f"Public Person {i:02d}")
    SignatureFactory(letter=letter, verified=True, name="Quiet Person", show_name=False)
    owner = LetterRoleFactory(letter=letter, role=LetterRole.Role.OWNER).user
    EmailAddress.objects.create(user=owner, email=owner.email, verified=True, primary=True)
    return owner.email


def log_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    submit(page.locator("main form button[type=submit]").last)


def test_owner_prepares_watches_and_downloads_the_delivery_pdf(
    page, live_server, owner_email: str
) -> None:
    base = live_server.url
    log_in(page, base, owner_email)
    page.goto(f"{base}/dashboard/")
    page.get_by_role("link", name="Delivery PDF").click()
    expect(page.get_by_role("heading", name="Delivery PDF")).to_be_visible()

    # A job waiting for a worker: the page says so and reloads itself.
    waiting = DeliveryDocument.objects.create(letter=Letter.objects.get(slug="to-deliver"))
    page.reload()
    expect(page.get_by_text("Waiting to start")).to_be_visible()
    assert page.get_by_role("button", name="Prepare a new PDF").is_disabled()
    screenshot(page, "delivery-waiting")
    delivery_document_build(document_id=waiting.pk)  # what the worker does
    page.get_by_role("link", name="Download the PDF").wait_for(timeout=10_000)
    expect(page.get_by_text("Ready")).to_be_visible()

    # A new one, requested with the button (tasks run inline here).
    page.get_by_role("button", name="Prepare a new PDF").click()
    expect(page.get_by_text("The PDF is being prepared.")).to_be_visible()
    assert page.get_by_role("link", name="Download the PDF").count() == 2
    screenshot(page, "delivery-ready")

    with page.expect_download() as info:
        page.get_by_role("link", name="Download the PDF").first.click()
    download = info.value
    assert download.suggested_filename.startswith("to-deliver-")
    reader = PdfReader(io.BytesIO(download.path().read_bytes()))
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "Deliver this letter" in text
    assert "41 verified signatures, 40 of them listed by name" in text
    assert text.index("Nadia Named") < text.index("Public Person 00")
    assert "Public Person 39" in text
    assert "Quiet Person" not in text
