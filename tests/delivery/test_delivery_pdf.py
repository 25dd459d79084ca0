"""The delivery PDF: requested by an owner, built in the background in chunks, downloaded
by owners only, and readable: title, text, named signatories first, then public names."""

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from django.test import Client
from pypdf import PdfReader

from delivery.document import Counts, letter_blocks, letter_pdf_write
from delivery.models import DeliveryDocument
from delivery.pdfwriter import default_fonts
from delivery.services import delivery_document_build
from letters.models import AuditEntry, Letter, LetterRole
from petition.models import Signature
from tests.factories import (
    LetterFactory,
    LetterRoleFactory,
    NamedSignatoryFactory,
    SignatureFactory,
)
from tests.responses import TestResponse

pytestmark = pytest.mark.django_db

BODY = """We ask the board to **pay** the artists.

## What we ask

1. Fair pay for every hour of work.
2. Credit in every release.

- one bullet
"""


@pytest.fixture(autouse=True)
def _media(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def letter() -> Letter:
    letter = LetterFactory(
        slug="deliver-me", title="Fair terms for artists", recipient="The board", body=BODY
    )
    NamedSignatoryFactory(letter=letter, name="Ada Firstnamed", affiliation="Guild of painters")
    NamedSignatoryFactory(letter=letter, name="Bea Secondnamed", affiliation="")
    return letter


@pytest.fixture
def owner_client(client: Client, letter: Letter) -> Client:
    client.force_login(LetterRoleFactory(letter=letter, role=LetterRole.Role.OWNER).user)
    return client


def bulk_signatures(letter: Letter, count: int, **fields: object) -> None:
    Signature.objects.bulk_create(
        Signature(
            letter=letter,
            name=f"Public Signer {i:05d}",
            email=f"public{i}@example.net",
            email_normalized=f"public{i}@example.net",
            organization="Studio North" if i % 2 else "",
            city="Lyon" if i % 3 else "",
            country="FR" if i % 3 else "",
            status=Signature.Status.VERIFIED,
            verified_at=letter.published_at,
            **fields,
        )
        for i in range(count)
    )


def pdf_text(data: bytes, *, first: int = 3) -> tuple[int, str]:
    """The page count, and the text of the first pages and the last (text extraction is
    slow, and the middle holds only more of the same)."""
    reader = PdfReader(io.BytesIO(data))
    pages = list(reader.pages)
    chosen = pages if len(pages) <= first + 1 else [*pages[:first], pages[-1]]
    return len(pages), "\n".join(page.extract_text() for page in chosen)


def request_pdf(client: Client, letter: Letter, capture: Callable) -> TestResponse:
    with capture(execute=True):
        return client.post(f"/letters/{letter.slug}/delivery/")


def test_owner_requests_a_pdf_and_downloads_it(
    owner_client: Client, letter: Letter, django_capture_on_commit_callbacks
) -> None:
    bulk_signatures(letter, 3000)
    SignatureFactory(letter=letter, verified=True, name="Hidden Person", show_name=False)
    SignatureFactory(letter=letter, name="Pending Person")

    response = request_pdf(owner_client, letter, django_capture_on_commit_callbacks)
    assert response.status_code == 302

    document = DeliveryDocument.objects.get(letter=letter)
    assert document.state == DeliveryDocument.State.DONE
    assert (document.progress, document.total) == (3000, 3000)
    assert AuditEntry.objects.filter(letter=letter, action=AuditEntry.Action.DELIVERY_PDF).exists()

    page = owner_client.get(f"/letters/{letter.slug}/delivery/").content.decode()
    assert "Download the PDF" in page
    assert 'http-equiv="refresh"' not in page

    download = owner_client.get(f"/letters/{letter.slug}/delivery/download/?document={document.pk}")
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith('attachment; filename="deliver-me-')
    data = b"".join(download)
    pages, text = pdf_text(data)

    assert pages == document.pages > 30
    assert "Fair terms for artists" in text
    assert "To: The board" in text
    assert "3,001 verified signatures, 3,000 of them listed by name" in text
    assert text.index("Ada Firstnamed") < text.index("Bea Secondnamed")
    assert text.index("Bea Secondnamed") < text.index("Public Signer 00000")
    assert "Guild of painters" in text
    assert "Public Signer 02999" in text
    assert "Studio North" in text and "France" in text
    assert "Hidden Person" not in text and "Pending Person" not in text
    assert "@example.net" not in text


def test_the_letter_text_keeps_its_headings_and_lists() -> None:
    blocks = letter_blocks(BODY)
    assert [b.kind for b in blocks] == ["p", "h", "li", "li", "li"]
    assert [b.marker for b in blocks if b.kind == "li"] == ["1.", "2.", "•"]
    assert blocks[0].text == "We ask the board to pay the artists."


def test_names_in_any_script_are_written_and_searchable(letter: Letter) -> None:
    SignatureFactory(letter=letter, verified=True, name="Ελένη Παπαδοπούλου")
    SignatureFactory(letter=letter, verified=True, name="Дмитрий Иванов")
    out = io.BytesIO()
    letter_pdf_write(letter=letter, out=out, counts=Counts(verified=2, listed=2))
    _, text = pdf_text(out.getvalue())
    assert "Ελένη Παπαδοπούλου" in text
    assert "Дмитрий Иванов" in text


def test_without_dejavu_the_pdf_falls_back_to_helvetica(letter: Letter, tmp_path: Path) -> None:
    SignatureFactory(letter=letter, verified=True, name="Zoë Fallback")
    out = io.BytesIO()
    fonts = default_fonts(tmp_path / "no-fonts-here")
    letter_pdf_write(letter=letter, out=out, counts=Counts(verified=1, listed=1), fonts=fonts)
    assert b"/BaseFont /Helvetica" in out.getvalue()
    _, text = pdf_text(out.getvalue())
    assert "Zoë Fallback" in text


def test_a_second_request_while_one_is_prepared_is_refused(
    owner_client: Client, letter: Letter
) -> None:
    DeliveryDocument.objects.create(letter=letter)
    response = owner_client.post(f"/letters/{letter.slug}/delivery/", follow=True)
    assert response.status_code == 200
    assert "already being prepared" in response.content.decode()
    assert DeliveryDocument.objects.filter(letter=letter).count() == 1


def test_the_page_reloads_itself_and_shows_progress_while_a_pdf_is_prepared(
    owner_client: Client, letter: Letter
) -> None:
    DeliveryDocument.objects.create(
        letter=letter, state=DeliveryDocument.State.RUNNING, progress=2500, total=10000
    )
    page = owner_client.get(f"/letters/{letter.slug}/delivery/").content.decode()
    assert '<meta http-equiv="refresh" content="3">' in page
    assert "2,500 of 10,000" in page
    assert "25%" in page
    assert '<progress class="delivery-progress" max="100" value="25"' in page
    assert "<script" not in page.split("</header>", 1)[1]


def test_a_build_that_fails_is_marked_failed_not_lost(letter: Letter, settings, tmp_path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the media directory should be")
    settings.MEDIA_ROOT = blocker
    document = DeliveryDocument.objects.create(letter=letter)
    delivery_document_build(document_id=document.pk)
    document.refresh_from_db()
    assert document.state == DeliveryDocument.State.FAILED
    assert document.error


def test_running_the_job_again_after_it_finished_changes_nothing(letter: Letter) -> None:
    document = DeliveryDocument.objects.create(letter=letter)
    delivery_document_build(document_id=document.pk)
    document.refresh_from_db()
    finished = document.finished_at
    assert delivery_document_build(document_id=document.pk) is None
    document.refresh_from_db()
    assert document.finished_at == finished


def test_another_letters_owner_cannot_download(client: Client, letter: Letter) -> None:
    document = DeliveryDocument.objects.create(letter=letter)
    delivery_document_build(document_id=document.pk)
    other = LetterRoleFactory(role=LetterRole.Role.OWNER)
    client.force_login(other.user)
    url = f"/letters/{other.letter.slug}/delivery/download/?document={document.pk}"
    response = client.get(url)
    assert response.status_code == 302  # back to their own letter's page: nothing to download
    assert response["Location"] == f"/letters/{other.letter.slug}/delivery/"
    url = f"/letters/{letter.slug}/delivery/download/?document={document.pk}"
    assert client.get(url).status_code == 404


def test_download_without_a_number_gives_the_newest_and_a_bad_number_a_400(
    owner_client: Client, letter: Letter
) -> None:
    assert owner_client.get(f"/letters/{letter.slug}/delivery/download/").status_code == 302
    for _ in range(2):
        delivery_document_build(document_id=DeliveryDocument.objects.create(letter=letter).pk)
    newest = DeliveryDocument.objects.filter(letter=letter).first()
    response = owner_client.get(f"/letters/{letter.slug}/delivery/download/")
    assert response.status_code == 200
    assert newest.created_at.strftime("%Y-%m-%d") in response["Content-Disposition"]
    bad = owner_client.get(f"/letters/{letter.slug}/delivery/download/?document=x1")
    assert bad.status_code == 400


def test_a_moderator_cannot_see_the_delivery_page(client: Client, letter: Letter) -> None:
    client.force_login(LetterRoleFactory(letter=letter, role=LetterRole.Role.MODERATOR).user)
    assert client.get(f"/letters/{letter.slug}/delivery/").status_code == 404


def test_only_the_newest_three_pdfs_are_kept(letter: Letter, settings) -> None:
    built = []
    for _ in range(4):
        document = DeliveryDocument.objects.create(letter=letter)
        built.append(delivery_document_build(document_id=document.pk))
    remaining = list(DeliveryDocument.objects.filter(letter=letter))
    assert [d.pk for d in remaining] == [d.pk for d in reversed(built[1:])]
    files = sorted(p.name for p in (Path(settings.MEDIA_ROOT) / "delivery").iterdir())
    assert files == sorted(Path(d.file_path).name for d in remaining)


def test_a_withheld_name_counts_in_the_pdf_by_its_verified_affiliation_only(
    letter: Letter,
) -> None:
    SignatureFactory(
        letter=letter, verified=True, name="Secret Artist", organization="Studio Hidden",
        show_name=False, affiliation_verification="email",
        affiliation_domain="studio.example", show_affiliation_anonymously=True,
    )  # fmt: skip
    SignatureFactory(
        letter=letter, verified=True, name="Quiet Person", show_name=False,
        affiliation_verification="email", affiliation_domain="other.example",
    )  # fmt: skip
    out = io.BytesIO()
    letter_pdf_write(letter=letter, out=out, counts=Counts(verified=2, listed=0))
    _, text = pdf_text(out.getvalue())
    assert "Name withheld · verified via studio.example email" in text
    assert "other.example" not in text
    for private in ("Secret Artist", "Studio Hidden", "Quiet Person"):
        assert private not in text
