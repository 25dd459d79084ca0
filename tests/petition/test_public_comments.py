"""Public comments ("Why people signed") and verified affiliations under a withheld name:
the signer's choices, the letter's pre-moderation, a moderator's hidden comment, shown the
same way on the letter page, the full list and the API."""

from collections.abc import Callable

import pytest
from django.core.cache import cache
from django.test import Client

from letters.models import Letter
from petition.models import Signature
from petition.selectors import letter_anonymous_verified_count, letter_public_comments
from tests.factories import LetterFactory, SignatureFactory
from tests.petition.selfservice.test_selfservice import manage_path

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache.clear()


@pytest.fixture
def post(client: Client, django_capture_on_commit_callbacks: Callable) -> Callable[..., object]:
    def _post(path: str, data: dict[str, object]) -> object:
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(path, data)

    return _post


def commented(letter: Letter, comment: str = "Because it is fair.", **fields: object) -> Signature:
    return SignatureFactory(
        letter=letter, verified=True, comment=comment, show_comment=True, **fields
    )


def test_signing_with_show_comment_stores_the_choice(letter: Letter, sign: Callable) -> None:
    sign(letter, comment="Fair pay now.", show_comment="on")
    signature = Signature.objects.get()
    assert (signature.comment, signature.show_comment) == ("Fair pay now.", True)


def test_a_comment_is_private_unless_the_signer_chooses_to_show_it(
    letter: Letter, sign: Callable
) -> None:
    sign(letter, comment="Only for the organisers.")
    assert Signature.objects.get().show_comment is False


def test_showing_an_empty_comment_is_not_recorded(letter: Letter, sign: Callable) -> None:
    sign(letter, show_comment="on")
    assert Signature.objects.get().show_comment is False


def test_the_signing_form_offers_the_choice_only_where_comments_are_asked(
    client: Client, letter: Letter
) -> None:
    assert 'name="show_comment"' in client.get(letter.get_absolute_url()).content.decode()
    other = LetterFactory(slug="no-comments", signer_fields=["city"])
    assert 'name="show_comment"' not in client.get(other.get_absolute_url()).content.decode()


def test_the_letter_page_shows_why_people_signed(client: Client, letter: Letter) -> None:
    commented(letter, "Artists deserve consent.", name="Dana Fox")
    SignatureFactory(letter=letter, verified=True, comment="Kept private.", name="Sam Lee")
    page = client.get(letter.get_absolute_url()).content.decode()
    assert "Why people signed" in page
    assert "Artists deserve consent." in page
    assert "Kept private." not in page


def test_a_comment_of_a_hidden_name_or_pending_signature_is_not_shown(letter: Letter) -> None:
    commented(letter, "Hidden name.", show_name=False)
    SignatureFactory(letter=letter, comment="Pending.", show_comment=True)
    commented(letter, "Rejected.", moderation=Signature.Moderation.REJECTED)
    assert letter_public_comments(letter) == []


def test_a_moderator_hides_the_comment_and_the_name_stays_listed(
    client: Client, letter: Letter
) -> None:
    commented(letter, "Something rude.", name="Dana Fox", comment_hidden=True)
    page = client.get("/letters/fair-terms/signatures/").content.decode()
    assert "Dana Fox" in page
    assert "Something rude." not in page
    assert client.get(letter.get_absolute_url()).content.decode().count("Something rude.") == 0
    (item,) = client.get("/api/v1/letters/fair-terms/signatures").json()["items"]
    assert (item["name"], item["comment"]) == ("Dana Fox", None)


def test_pre_moderated_comments_show_only_once_approved(client: Client) -> None:
    letter = LetterFactory(slug="careful", signer_fields=["comment"], premoderate_comments=True)
    commented(letter, "Not read yet.")
    commented(letter, "Read and approved.", moderation=Signature.Moderation.APPROVED)
    assert [c.public_comment for c in letter_public_comments(letter)] == ["Read and approved."]
    items = client.get("/api/v1/letters/careful/signatures").json()["items"]
    assert sorted(str(item["comment"]) for item in items) == ["None", "Read and approved."]


def test_the_full_list_shows_comments_and_filters_on_them(client: Client, letter: Letter) -> None:
    commented(letter, "Fair terms for all.", name="Dana Fox")
    SignatureFactory(letter=letter, verified=True, name="Sam Lee")
    page = client.get("/letters/fair-terms/signatures/").content.decode()
    assert "Fair terms for all." in page
    only = client.get("/letters/fair-terms/signatures/?comments=1").content.decode()
    assert "Dana Fox" in only
    assert "Sam Lee" not in only


def test_the_api_gives_the_comment_the_signer_shows(client: Client, letter: Letter) -> None:
    commented(letter, "Fair terms for all.")
    SignatureFactory(letter=letter, verified=True, comment="Private.")
    items = client.get("/api/v1/letters/fair-terms/signatures").json()["items"]
    assert sorted(str(item["comment"]) for item in items) == ["Fair terms for all.", "None"]


def test_the_manage_page_toggles_show_comment(client: Client, letter: Letter, post) -> None:
    signature = SignatureFactory(letter=letter, verified=True, comment="Later public.")
    path = manage_path(signature)
    assert 'name="show_comment"' in client.get(path).content.decode()
    post(path, {"comment": "Later public.", "show_name": "on", "show_comment": "on"})
    signature.refresh_from_db()
    assert signature.show_comment is True
    assert [c.public_comment for c in letter_public_comments(letter)] == ["Later public."]


def test_a_changed_comment_waits_for_approval_again_where_comments_are_premoderated(
    letter: Letter, post
) -> None:
    Letter.objects.filter(pk=letter.pk).update(premoderate_comments=True)
    signature = commented(letter, "First.", moderation=Signature.Moderation.APPROVED)
    post(manage_path(signature), {"comment": "Second.", "show_name": "on", "show_comment": "on"})
    signature.refresh_from_db()
    assert signature.moderation == ""
    assert letter_public_comments(letter) == []


def test_signing_again_does_not_undo_a_hidden_comment(letter: Letter, sign: Callable) -> None:
    SignatureFactory(
        letter=letter, email="ada@example.org", status=Signature.Status.WITHDRAWN,
        verified_at=letter.created_at, comment="Rude.", show_comment=True, comment_hidden=True,
    )  # fmt: skip
    sign(letter, comment="Rude again.", show_comment="on")
    assert Signature.objects.get().comment_hidden is True


# Anonymous but verified.


def anonymous(letter: Letter, **fields: object) -> Signature:
    values: dict[str, object] = {
        "verified": True, "show_name": False, "name": "Secret Artist",
        "title": "Illustrator", "organization": "Studio", "city": "Lyon", "country": "FR",
        "affiliation_verification": "email", "affiliation_domain": "studio.example",
        "show_affiliation_anonymously": True,
    }  # fmt: skip
    values.update(fields)
    return SignatureFactory(letter=letter, **values)


def test_the_full_list_shows_a_withheld_name_with_its_verified_affiliation(
    client: Client, letter: Letter
) -> None:
    anonymous(letter)
    page = client.get("/letters/fair-terms/signatures/").content.decode()
    assert "Name withheld" in page
    assert "verified via studio.example email" in page
    for private in ("Secret Artist", "Illustrator", "Lyon", "France"):
        assert private not in page


def test_a_withheld_name_shows_only_by_the_signers_choice(client: Client, letter: Letter) -> None:
    anonymous(letter, show_affiliation_anonymously=False)
    anonymous(letter, affiliation_verification="", affiliation_domain="")
    assert "Name withheld" not in client.get("/letters/fair-terms/signatures/").content.decode()


def test_searching_never_singles_out_a_withheld_name(client: Client, letter: Letter) -> None:
    anonymous(letter)
    for query in ("q=Secret", "q=Studio", "country=FR", "q=Illustrator"):
        page = client.get(f"/letters/fair-terms/signatures/?{query}").content.decode()
        assert "Name withheld" not in page, query
    verified = client.get("/letters/fair-terms/signatures/?verified=1").content.decode()
    assert "Name withheld" in verified


def test_the_api_gives_a_withheld_name_as_empty_with_its_verification(
    client: Client, letter: Letter
) -> None:
    anonymous(letter, comment="Private reason.", show_comment=True)
    response = client.get("/api/v1/letters/fair-terms/signatures")
    (item,) = response.json()["items"]
    assert item["name_withheld"] is True
    assert (item["name"], item["title"], item["organization"], item["city"]) == ("", "", "", "")
    assert (item["affiliation_verified"], item["affiliation_domain"]) == ("email", "studio.example")
    assert item["comment"] is None
    assert b"Secret" not in response.content


def test_the_pages_say_how_many_verified_signatories_stayed_anonymous(
    client: Client, letter: Letter
) -> None:
    anonymous(letter)
    anonymous(letter, show_affiliation_anonymously=False)
    anonymous(letter, affiliation_verification="")
    assert letter_anonymous_verified_count(letter) == 2
    text = "2 signatories with a verified affiliation chose to stay anonymous."
    assert text in client.get(letter.get_absolute_url()).content.decode()
    assert text in client.get("/letters/fair-terms/signatures/").content.decode()


def test_the_manage_page_offers_the_choice_once_the_affiliation_is_verified(
    client: Client, letter: Letter, post
) -> None:
    signature = anonymous(letter, show_affiliation_anonymously=False)
    path = manage_path(signature)
    assert 'name="show_affiliation_anonymously"' in client.get(path).content.decode()
    post(path, {"title": "Illustrator", "organization": "Studio", "city": "Lyon",
                "show_affiliation_anonymously": "on"})  # fmt: skip
    signature.refresh_from_db()
    assert signature.show_affiliation_anonymously is True
    assert signature.affiliation_verification == "email"
    unverified = SignatureFactory(letter=letter, verified=True)
    assert (
        "show_affiliation_anonymously" not in client.get(manage_path(unverified)).content.decode()
    )
