"""Near-duplicate names, the same name from one network, and the embedded default running
every anomaly check on signing (it has no beat to run the periodic scan)."""

import pytest

from letters.models import Letter
from petition.models import Signature
from petition.moderation import anomalies
from petition.moderation.anomalies import letter_flag_anomalies
from petition.signing.services import SignatureData, signature_create
from tests.factories import LetterFactory, SignatureFactory

pytestmark = pytest.mark.django_db
Flag = Signature.Flag


@pytest.fixture
def letter() -> Letter:
    return LetterFactory(slug="near")


def flags_of(signature: Signature) -> list[str]:
    signature.refresh_from_db()
    return signature.flag_list


@pytest.fixture(params=["database", "portable"])
def checker(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways of comparing names: the database's (trigram on PostgreSQL) and the
    portable one every database has."""
    anomalies._trigram_available.cache_clear()
    if request.param == "portable":
        monkeypatch.setattr(anomalies, "_trigram_available", lambda: False)
    return request.param


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Dana Fox", "Fox Dana"),
        ("Dana Fox", "Dana Foxx"),
        ("Margaret Lovelace", "Margret Lovelace"),
    ],
)
def test_nearly_the_same_names_are_flagged(letter: Letter, checker: str, first: str, second: str):
    one = SignatureFactory(letter=letter, name=first)
    other = SignatureFactory(letter=letter, name=second)
    unrelated = SignatureFactory(letter=letter, name="Grace Hopper")
    letter_flag_anomalies(letter=letter)
    assert Flag.NEAR_DUPLICATE_NAME in flags_of(one)
    assert Flag.NEAR_DUPLICATE_NAME in flags_of(other)
    assert Flag.NEAR_DUPLICATE_NAME not in flags_of(unrelated)


def test_exact_duplicates_are_not_near_duplicates(letter: Letter, checker: str):
    one = SignatureFactory(letter=letter, name="Dana Fox")
    other = SignatureFactory(letter=letter, name="dana  FOX")
    letter_flag_anomalies(letter=letter)
    assert flags_of(one) == flags_of(other) == [Flag.DUPLICATE_NAME]


def test_short_and_different_names_are_left_alone(letter: Letter, checker: str):
    names = ["Ann Lee", "Ana Li", "Bob Stone", "Carla Diaz", "Yusuf Okafor"]
    signatures = [SignatureFactory(letter=letter, name=name) for name in names]
    letter_flag_anomalies(letter=letter)
    assert all(flags_of(s) == [] for s in signatures)


def test_same_name_from_one_network_is_flagged(letter: Letter):
    near = [
        SignatureFactory(letter=letter, name="Sam Reed", ip_address="198.51.100.7"),
        SignatureFactory(letter=letter, name="Sam Reed", ip_address="198.51.100.200"),
    ]
    elsewhere = SignatureFactory(letter=letter, name="Sam Reed", ip_address="203.0.113.9")
    v6 = [
        SignatureFactory(letter=letter, name="Lee Park", ip_address="2001:db8:5:6::1"),
        SignatureFactory(letter=letter, name="Lee Park", ip_address="2001:db8:5:6:ffff::2"),
    ]
    letter_flag_anomalies(letter=letter)
    assert all(Flag.SAME_NAME_NETWORK in flags_of(s) for s in [*near, *v6])
    assert Flag.SAME_NAME_NETWORK not in flags_of(elsewhere)
    assert Flag.DUPLICATE_NAME in flags_of(elsewhere)


def test_signing_runs_the_scan_inline_in_the_embedded_default(
    letter: Letter, django_capture_on_commit_callbacks
):
    """Under `make run` nothing runs beat: two "Dana Fox" went unflagged."""
    with django_capture_on_commit_callbacks(execute=True):
        first = signature_create(
            letter=letter, data=SignatureData(name="Dana Fox", email="dana@example.org")
        )
        second = signature_create(
            letter=letter, data=SignatureData(name="Dana Fox", email="dana.fox@example.net")
        )
    assert first is not None and second is not None
    assert Flag.DUPLICATE_NAME in flags_of(first)
    assert Flag.DUPLICATE_NAME in flags_of(second)


def test_a_failing_scan_never_fails_signing(
    letter: Letter, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(**kwargs: object) -> None:
        raise RuntimeError("scan broke")

    monkeypatch.setattr(anomalies, "letter_flag_anomalies", broken)
    with django_capture_on_commit_callbacks(execute=True):
        signature = signature_create(
            letter=letter, data=SignatureData(name="Dana Fox", email="dana@example.org")
        )
    assert signature is not None and Signature.objects.filter(pk=signature.pk).exists()
