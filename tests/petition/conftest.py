import re
from collections.abc import Callable

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from letters.models import Letter
from tests.factories import LetterFactory
from tests.responses import TestResponse

LINK = re.compile(r"https?://\S+/confirm/\S+/")


def form_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Ada Example",
        "email": "ada@example.org",
        "show_name": "on",
        "consent": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def confirm_link(message: mail.EmailMessage) -> str:
    links = set(LINK.findall(str(message.body)))
    assert len(links) == 1, message.body
    return links.pop()


def html_part(message: mail.EmailMessage) -> str:
    """The HTML version of a sent email."""
    assert isinstance(message, mail.EmailMultiAlternatives), message
    content, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and isinstance(content, str), mimetype
    return content


@pytest.fixture
def letter(db: None) -> Letter:
    return LetterFactory(
        slug="fair-terms", signer_fields=["title", "organization", "city", "country", "comment"]
    )


@pytest.fixture
def sign(client: Client, django_capture_on_commit_callbacks: Callable) -> Callable[..., object]:
    """POST the signing form and run what was queued after commit (the email task)."""

    def _sign(letter: Letter, **fields: object) -> TestResponse:
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("signature_submit", args=[letter.slug]), form_data(**fields))

    return _sign


@pytest.fixture
def confirm(
    client: Client, django_capture_on_commit_callbacks: Callable
) -> Callable[[str], object]:
    def _confirm(link: str) -> TestResponse:
        path = link.split("://", 1)[1].split("/", 1)[1]
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/" + path)

    return _confirm
