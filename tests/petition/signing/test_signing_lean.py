"""The signing and confirming requests read only what they show (bench/profile_signature.py
measures them); these tests keep what the lean reads must not lose."""

from collections.abc import Callable

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from letters.models import Letter
from petition.models import Signature
from tests.petition.conftest import confirm_link, form_data

pytestmark = pytest.mark.django_db


def test_confirmation_page_reads_the_letter_and_the_signature_and_nothing_more(
    letter: Letter, sign: Callable, client: Client, django_assert_num_queries: Callable
) -> None:
    sign(letter, name="Ada Lovelace", organization="Analytical Society")
    link = confirm_link(mail.outbox[0])
    with django_assert_num_queries(2):
        response = client.get(link)
    assert response.status_code == 200
    assert b"Ada Lovelace" in response.content
    assert b"Analytical Society" in response.content
    assert letter.title.encode() in response.content


def test_confirming_shows_the_count_with_the_new_signature_in_it(
    letter: Letter, sign: Callable, confirm: Callable
) -> None:
    sign(letter, email="first@example.org")
    confirm(confirm_link(mail.outbox[0]))
    mail.outbox.clear()
    sign(letter, email="second@example.org")
    response = confirm(confirm_link(mail.outbox[0]))
    assert b"your signature counts" in response.content
    assert b"now has 2 verified signatures" in response.content


def test_confirming_twice_shows_the_count_without_adding_one(
    letter: Letter, sign: Callable, confirm: Callable
) -> None:
    sign(letter)
    link = confirm_link(mail.outbox[0])
    confirm(link)
    again = confirm(link)
    assert b"already confirmed" in again.content
    assert b"now has 1 verified signature." in again.content


def test_a_form_with_errors_shows_the_whole_letter_again(letter: Letter, client: Client) -> None:
    response = client.post(
        reverse("signature_submit", args=[letter.slug]), form_data(email="not an address")
    )
    assert response.status_code == 400
    assert letter.recipient.encode() in response.content
    assert letter.body.split()[0].encode() in response.content
    assert not Signature.objects.exists()


def test_a_country_outside_the_list_is_refused_and_one_in_it_is_kept(
    letter: Letter, sign: Callable
) -> None:
    assert sign(letter, email="a@example.org", country="ZZ").status_code == 400
    assert sign(letter, email="a@example.org", country="PT").status_code == 302
    assert str(Signature.objects.get().country) == "PT"
