"""Sign a letter over HTTP against gunicorn, receive the email over SMTP from a real Celery
worker, follow the link, and see the count change."""

import re
import time
from email.message import EmailMessage
from urllib.parse import urlsplit

import requests

from letters.models import Letter
from mail.models import OutboundEmail
from petition.models import Signature
from tests.conftest import SmtpSink, eventually
from tests.factories import LetterFactory

from .conftest import Stack

FORM = re.compile(r'<form method="post"')
LINK = re.compile(r"https?://\S+/confirm/\S+/")
MANAGE_LINK = re.compile(r"https?://\S+/manage/[^/\s]+/")


def text_part(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def same_origin(stack: Stack) -> dict[str, str]:
    """What a browser says when it posts a form from one of the site's own pages."""
    return {"Origin": stack.base_url, "Sec-Fetch-Site": "same-origin"}


def sign_over_http(stack: Stack, letter: Letter, email: str) -> requests.Response:
    browser = requests.Session()
    page = browser.get(f"{stack.base_url}/letters/{letter.slug}/", timeout=10)
    assert page.status_code == 200
    assert FORM.search(page.text)
    # Reading the letter sets no cookie: its form needs no CSRF token (config/csrf.py).
    assert not browser.cookies
    return browser.post(
        f"{stack.base_url}/letters/{letter.slug}/sign/",
        headers=same_origin(stack),
        data={
            "name": "Ada Example",
            "email": email,
            "country": "FR",
            "show_name": "on",
            "consent": "on",
        },
        timeout=10,
    )


def confirm_over_http(link: str) -> requests.Response:
    browser = requests.Session()
    page = browser.get(link, timeout=10)
    assert page.status_code == 200
    assert FORM.search(page.text)
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(link))
    return browser.post(
        link, headers={"Origin": origin, "Sec-Fetch-Site": "same-origin"}, timeout=10
    )


def public_count(stack: Stack, letter: Letter) -> int:
    return requests.get(f"{stack.base_url}/api/v1/letters/{letter.slug}", timeout=10).json()[
        "signature_count"
    ]


def test_sign_receive_email_confirm_and_count_on_the_production_stack(
    stack: Stack, smtp_sink: SmtpSink
) -> None:
    letter = LetterFactory(slug="fair-terms", signer_fields=["country"])
    assert public_count(stack, letter) == 0

    signed = sign_over_http(stack, letter, "ada@example.org")
    assert signed.status_code == 200, stack.log_tail()
    assert signed.url.endswith("/letters/fair-terms/signed/")
    assert "Check your inbox" in signed.text

    messages = smtp_sink.wait_for(1)
    assert len(messages) == 1, stack.log_tail()
    message = messages[0]
    assert message["To"] == "ada@example.org"
    assert message.get_body(preferencelist=("html",)) is not None
    links = set(LINK.findall(text_part(message)))
    assert len(links) == 1
    link = links.pop()
    assert link.startswith(f"{stack.base_url}/letters/fair-terms/confirm/")

    assert "Confirm my signature" in requests.get(link, timeout=10).text
    assert public_count(stack, letter) == 0
    confirmed = confirm_over_http(link)
    assert confirmed.status_code == 200
    assert "your signature counts" in confirmed.text
    assert "now has 1 verified signature." in confirmed.text  # even before the tally runs
    # The tally job folds the verification into the count within seconds.
    assert eventually(lambda: public_count(stack, letter) == 1, timeout=15), stack.log_tail()

    # One email per signature: the verification email already carried the manage link,
    # which now opens the confirmed signature; confirming sends nothing more.
    manage = MANAGE_LINK.search(text_part(message)).group(0)
    assert "Your signature is confirmed." in requests.get(manage, timeout=10).text
    time.sleep(2)  # a late second email would show up here
    assert len(smtp_sink.messages) == 1, stack.log_tail()

    # The same person in capitals: one signature, an "already signed" email, same count.
    again = sign_over_http(stack, letter, "  ADA@Example.ORG")
    assert again.url.endswith("/letters/fair-terms/signed/")
    messages = smtp_sink.wait_for(2)
    assert len(messages) == 2, stack.log_tail()
    assert "already signed" in messages[1]["Subject"]
    assert MANAGE_LINK.search(text_part(messages[1]))
    # Served from a cache a few seconds old at most; it must settle on the same count.
    assert eventually(lambda: public_count(stack, letter) == 1, timeout=10)
    assert Signature.objects.get().status == Signature.Status.VERIFIED
    assert eventually(
        lambda: set(OutboundEmail.objects.values_list("state", flat=True)) == {"sent"}
    )


def test_emails_queued_while_the_worker_is_down_are_sent_when_it_returns(
    stack: Stack, smtp_sink: SmtpSink
) -> None:
    letter = LetterFactory(slug="outbox", signer_fields=[])
    stack.stop("worker")
    for n in range(3):
        assert sign_over_http(stack, letter, f"person{n}@example.org").status_code == 200
    assert OutboundEmail.objects.filter(state="queued").count() == 3
    assert smtp_sink.messages == []
    stack.start_worker()
    messages = smtp_sink.wait_for(3)
    assert sorted(m["To"] for m in messages) == [f"person{n}@example.org" for n in range(3)]
    assert eventually(lambda: not OutboundEmail.objects.exclude(state="sent").exists())
