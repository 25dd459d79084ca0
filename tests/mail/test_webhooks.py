"""The providers' bounce and complaint webhooks, with each provider's documented payload and
authentication, checked by django-anymail: a hard bounce or complaint suppresses the
address and marks the email; a soft bounce, a wrong secret or a malformed body does not."""

import base64
import hashlib
import hmac
import json
import time

import pytest
from django.test import Client
from django.utils import timezone

from mail.models import OutboundEmail, Suppression
from mail.selectors import address_is_suppressed
from tests.factories import SignatureFactory

pytestmark = pytest.mark.django_db

SECRET = "hooks:s3cret-for-tests"
MAILGUN_KEY = "key-mailgun-signing-for-tests"


@pytest.fixture(autouse=True)
def webhooks_configured(settings) -> None:
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY}


def basic_auth(secret: str = SECRET) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(secret.encode()).decode()}


def sent_email(address: str, message_id: str) -> OutboundEmail:
    return OutboundEmail.objects.create(
        signature=SignatureFactory(email=address),
        kind=OutboundEmail.Kind.VERIFY,
        state=OutboundEmail.State.SENT,
        sent_at=timezone.now(),
        provider_message_id=message_id,
    )


def postmark_bounce(address: str, message_id: str, kind: str = "HardBounce") -> dict:
    return {
        "RecordType": "Bounce",
        "MessageStream": "outbound",
        "ID": 4323372036854775807,
        "Type": kind,
        "TypeCode": 1 if kind == "HardBounce" else 4096,
        "Name": "Hard bounce",
        "Tag": "",
        "MessageID": message_id,
        "Metadata": {},
        "ServerID": 23,
        "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": address,
        "From": "no-reply@letters.example.org",
        "BouncedAt": "2026-11-05T16:33:54.9070259Z",
        "DumpAvailable": True,
        "Inactive": True,
        "CanActivate": True,
        "Subject": "Confirm your signature",
        "Content": "",
    }


def post_json(client: Client, url: str, payload: object, **headers: str):
    return client.post(url, json.dumps(payload), content_type="application/json", headers=headers)


def test_postmark_hard_bounce_suppresses_the_address_and_marks_the_email(client: Client) -> None:
    outbound = sent_email("Gone.Away@Example.org", "883953f4-6105-42a2-a16a-77a8eac79483")
    response = post_json(
        client,
        "/mail/webhooks/postmark/tracking/",
        postmark_bounce("Gone.Away@Example.org", "883953f4-6105-42a2-a16a-77a8eac79483"),
        **basic_auth(),
    )
    assert response.status_code == 200
    assert address_is_suppressed("gone.away@example.org")
    outbound.refresh_from_db()
    assert outbound.bounced_at is not None
    assert outbound.bounce_event == "bounced"
    assert Suppression.objects.get().source == "Postmark"


def test_postmark_spam_complaint_suppresses_the_address(client: Client) -> None:
    payload = postmark_bounce("annoyed@example.org", "abc-123", kind="SpamComplaint")
    payload["RecordType"] = "SpamComplaint"
    response = post_json(client, "/mail/webhooks/postmark/tracking/", payload, **basic_auth())
    assert response.status_code == 200
    assert Suppression.objects.get().reason == Suppression.Reason.COMPLAINED


def test_postmark_soft_bounce_suppresses_nothing(client: Client) -> None:
    payload = postmark_bounce("full.mailbox@example.org", "abc-124", kind="SoftBounce")
    response = post_json(client, "/mail/webhooks/postmark/tracking/", payload, **basic_auth())
    assert response.status_code == 200
    assert not Suppression.objects.exists()


def test_a_webhook_with_the_wrong_secret_changes_nothing(client: Client) -> None:
    payload = postmark_bounce("victim@example.org", "abc-125")
    for headers in ({}, basic_auth("hooks:guessed")):
        response = post_json(client, "/mail/webhooks/postmark/tracking/", payload, **headers)
        assert response.status_code == 400
    assert not Suppression.objects.exists()


def test_a_webhook_without_its_secret_configured_is_not_served(client: Client, settings) -> None:
    settings.ANYMAIL = {}
    payload = postmark_bounce("victim@example.org", "abc-126")
    response = post_json(client, "/mail/webhooks/postmark/tracking/", payload, **basic_auth())
    assert response.status_code == 404
    assert not Suppression.objects.exists()


@pytest.mark.parametrize("body", ["{not json", "[]", '"Bounce"', "\xff"])
def test_a_malformed_webhook_body_is_a_400(client: Client, body: str) -> None:
    response = client.post(
        "/mail/webhooks/postmark/tracking/",
        body,
        content_type="application/json",
        headers=basic_auth(),
    )
    assert response.status_code == 400
    assert not Suppression.objects.exists()


def mailgun_event(
    address: str, message_id: str, *, key: str = MAILGUN_KEY, severity: str = "permanent"
) -> dict:
    timestamp, token = str(int(time.time())), "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature},
        "event-data": {
            "event": "failed",
            "severity": severity,
            "reason": "bounce",
            "id": "G9Bn5sl1TC6nu79C8C0bwg",
            "timestamp": time.time(),
            "log-level": "error",
            "recipient": address,
            "recipient-domain": address.split("@")[1],
            "message": {
                "headers": {
                    "to": address,
                    "message-id": message_id,
                    "from": "no-reply@letters.example.org",
                    "subject": "Confirm your signature",
                },
                "attachments": [],
                "size": 2048,
            },
            "delivery-status": {
                "code": 550,
                "message": "550 5.1.1 The email account that you tried to reach does not exist.",
                "description": "",
                "attempt-no": 1,
                "session-seconds": 0.4,
                "tls": True,
                "mx-host": "mx.example.org",
            },
            "flags": {"is-routed": False, "is-authenticated": True, "is-test-mode": False},
            "envelope": {
                "transport": "smtp",
                "sender": "bounce@letters.example.org",
                "targets": address,
            },
            "tags": [],
            "user-variables": {},
        },
    }


def test_mailgun_permanent_failure_with_a_valid_signature_suppresses(client: Client) -> None:
    outbound = sent_email("nobody@example.net", "20261105.1.abc@letters.example.org")
    payload = mailgun_event("nobody@example.net", "20261105.1.abc@letters.example.org")
    response = post_json(client, "/mail/webhooks/mailgun/tracking/", payload, **basic_auth())
    assert response.status_code == 200
    assert address_is_suppressed("nobody@example.net")
    outbound.refresh_from_db()
    assert outbound.bounced_at is not None


def test_mailgun_event_signed_with_another_key_is_refused(client: Client) -> None:
    payload = mailgun_event("nobody@example.net", "x@y", key="key-of-an-attacker")
    response = post_json(client, "/mail/webhooks/mailgun/tracking/", payload, **basic_auth())
    assert response.status_code == 400
    assert not Suppression.objects.exists()


def test_mailgun_temporary_failure_suppresses_nothing(client: Client) -> None:
    payload = mailgun_event("slow@example.net", "x@y", severity="temporary")
    response = post_json(client, "/mail/webhooks/mailgun/tracking/", payload, **basic_auth())
    assert response.status_code == 200
    assert not Suppression.objects.exists()


def ses_notification(
    address: str, message_id: str, bounce_type: str = "Permanent"
) -> tuple[dict, dict[str, str]]:
    message = {
        "notificationType": "Bounce",
        "bounce": {
            "feedbackId": "0100017c2b3d-feedback",
            "bounceType": bounce_type,
            "bounceSubType": "General",
            "bouncedRecipients": [
                {
                    "emailAddress": address,
                    "action": "failed",
                    "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                }
            ],
            "timestamp": "2026-11-05T16:33:55.000Z",
            "reportingMTA": "dsn; a27-23.smtp-out.us-west-2.amazonses.com",
        },
        "mail": {
            "timestamp": "2026-11-05T16:33:54.000Z",
            "source": "no-reply@letters.example.org",
            "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/letters.example.org",
            "sendingAccountId": "123456789012",
            "messageId": message_id,
            "destination": [address],
            "headersTruncated": False,
            "headers": [],
            "commonHeaders": {"from": ["no-reply@letters.example.org"], "to": [address]},
        },
    }
    sns_id = "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324"
    sns = {
        "Type": "Notification",
        "MessageId": sns_id,
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:ses-bounces",
        "Message": json.dumps(message),
        "Timestamp": "2026-11-05T16:33:55.123Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLEpH+signature==",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-example.pem",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x",
    }
    headers = {"x-amz-sns-message-type": "Notification", "x-amz-sns-message-id": sns_id}
    return sns, headers


def test_ses_permanent_bounce_through_sns_suppresses(client: Client) -> None:
    outbound = sent_email("unknown.user@example.com", "0100016267a2c6f6-ses-message-id-000000")
    payload, headers = ses_notification(
        "unknown.user@example.com", "0100016267a2c6f6-ses-message-id-000000"
    )
    response = client.post(
        "/mail/webhooks/ses/tracking/",
        json.dumps(payload),
        content_type="text/plain; charset=UTF-8",  # what SNS sends
        headers={**headers, **basic_auth()},
    )
    assert response.status_code == 200
    assert address_is_suppressed("unknown.user@example.com")
    outbound.refresh_from_db()
    assert outbound.bounced_at is not None


def test_ses_asks_for_basic_auth_first_and_refuses_a_wrong_one(client: Client) -> None:
    payload, headers = ses_notification("x@example.com", "m-1")
    body = json.dumps(payload)
    challenge = client.post(
        "/mail/webhooks/ses/tracking/", body, content_type="text/plain", headers=headers
    )
    assert challenge.status_code == 401  # SNS sends credentials only after a challenge
    wrong = client.post(
        "/mail/webhooks/ses/tracking/",
        body,
        content_type="text/plain",
        headers={**headers, **basic_auth("hooks:wrong")},
    )
    assert wrong.status_code == 400
    assert not Suppression.objects.exists()


def test_ses_transient_bounce_suppresses_nothing(client: Client) -> None:
    payload, headers = ses_notification("full@example.com", "m-2", bounce_type="Transient")
    response = client.post(
        "/mail/webhooks/ses/tracking/",
        json.dumps(payload),
        content_type="text/plain",
        headers={**headers, **basic_auth()},
    )
    assert response.status_code == 200
    assert not Suppression.objects.exists()


@pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning")
def test_sendgrid_bounce_suppresses_and_a_block_does_not(client: Client) -> None:
    events = [
        {
            "email": "bounced@example.org",
            "timestamp": int(time.time()),
            "event": "bounce",
            "type": "bounce",
            "status": "5.1.1",
            "reason": "550 5.1.1 user unknown",
            "sg_event_id": "ev-1",
            "sg_message_id": "sg-1.filter0001",
            "smtp-id": "<sg-1@letters.example.org>",
        },
        {
            "email": "blocked@example.org",
            "timestamp": int(time.time()),
            "event": "bounce",
            "type": "blocked",
            "status": "4.0.0",
            "reason": "421 try later",
            "sg_event_id": "ev-2",
            "sg_message_id": "sg-2.filter0001",
        },
    ]
    response = post_json(client, "/mail/webhooks/sendgrid/tracking/", events, **basic_auth())
    assert response.status_code == 200
    assert address_is_suppressed("bounced@example.org")
    assert not address_is_suppressed("blocked@example.org")


def test_brevo_hard_bounce_and_spam_suppress_a_soft_bounce_does_not(client: Client) -> None:
    for event, address in (
        ("hard_bounce", "hard@example.org"),
        ("spam", "spam@example.org"),
        ("soft_bounce", "soft@example.org"),
    ):
        payload = {
            "event": event,
            "email": address,
            "id": 123456,
            "date": "2026-11-05 17:33:54",
            "ts": int(time.time()),
            "message-id": "<202611051733.123@smtp-relay.mailin.fr>",
            "ts_event": int(time.time()),
            "subject": "Confirm your signature",
            "reason": "550 user unknown",
        }
        response = post_json(client, "/mail/webhooks/brevo/tracking/", payload, **basic_auth())
        assert response.status_code == 200
    assert address_is_suppressed("hard@example.org")
    assert address_is_suppressed("spam@example.org")
    assert not address_is_suppressed("soft@example.org")
