"""The trust log on the production stack: signers sign and confirm over HTTP, one withdraws
through their manage link, a moderator's bulk invalidation runs in the worker, the tally
and the checkpoint job run from beat, and `verify_log`, run as an auditor would against
the live site, confirms the count the letter page shows; a signer checks their receipt."""

import html
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from allauth.account.models import EmailAddress

from letters.models import Letter
from petition.moderation.services import InvalidationCriteria, invalidation_start
from tests.conftest import SmtpSink, eventually
from tests.factories import LetterFactory, UserFactory
from trustlog.models import LogCheckpoint
from trustlog.note import Signer

from .conftest import ROOT, Stack
from .test_production_stack import LINK, MANAGE_LINK, confirm_over_http, same_origin, text_part

SIGNER = Signer(name="stack.test", seed=bytes(range(100, 132)))
COUNT = re.compile(r'<strong id="signature-count">([0-9,]+)</strong>')
RECEIPT_COMMAND = re.compile(r'<code id="log-receipt-command">([^<]+)</code>')


@pytest.fixture
def stack_env() -> dict[str, str]:
    return {
        "LOG_SIGNING_KEY": SIGNER.line(),
        "LOG_CHECKPOINT_SECONDS": "1",
        "TALLY_INTERVAL_SECONDS": "0.5",
    }


def sign(stack: Stack, letter: Letter, email: str) -> None:
    answer = requests.post(
        f"{stack.base_url}/letters/{letter.slug}/sign/",
        headers=same_origin(stack),
        data={
            "name": email.split("@")[0].title(),
            "email": email,
            "show_name": "on",
            "consent": "on",
        },
        timeout=10,
    )
    assert answer.url.endswith(f"/letters/{letter.slug}/signed/"), answer.text[-2000:]


def page_count(stack: Stack, letter: Letter) -> int:
    page = requests.get(f"{stack.base_url}/letters/{letter.slug}/", timeout=10).text
    return int(COUNT.search(page).group(1).replace(",", ""))


def verify_log(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "verify_log", *args],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_verify_log_on_the_live_site_confirms_the_count_the_page_shows(
    stack: Stack, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    letter = LetterFactory(slug="verified-count", signer_fields=[])
    emails = ["ada@example.org", "bob@example.org", "carol@example.org", "mallory@fake.example"]
    for email in emails:
        sign(stack, letter, email)
    messages = {m["To"]: text_part(m) for m in smtp_sink.wait_for(len(emails))}
    assert set(messages) == set(emails), stack.log_tail()
    for email in emails:
        assert confirm_over_http(LINK.search(messages[email]).group(0)).status_code == 200
    assert eventually(lambda: page_count(stack, letter) == 4, timeout=20), stack.log_tail()

    # Bob withdraws through his manage link.
    bob_manage = MANAGE_LINK.search(messages["bob@example.org"]).group(0)
    withdrawn = requests.post(
        bob_manage + "withdraw/", headers=same_origin(stack), timeout=10, allow_redirects=True
    )
    assert "You have withdrawn this signature." in withdrawn.text, withdrawn.text[-2000:]
    # A moderator invalidates Mallory's signature; the job runs in the bulk worker.
    moderator = UserFactory(email="mod@example.org")
    EmailAddress.objects.create(user=moderator, email=moderator.email, verified=True, primary=True)
    invalidation_start(
        letter=letter,
        actor=moderator,
        criteria=InvalidationCriteria(domain="fake.example"),
        expected=1,
    )
    assert eventually(lambda: page_count(stack, letter) == 2, timeout=30), stack.log_tail()
    assert eventually(
        lambda: LogCheckpoint.objects.filter(letter=letter, size=6).exists(), timeout=20
    ), stack.log_tail()

    # The auditor's check, with the key the operator published.
    key = SIGNER.verifier.renamed(f"127.0.0.1:{stack.base_url.rsplit(':', 1)[1]}").line()
    assert requests.get(f"{stack.base_url}/log/key", timeout=10).text.strip() == key
    state = tmp_path / "verified-count.state"
    url = f"{stack.base_url}/letters/verified-count/"
    checked = verify_log(stack, url, "--key", key, "--state", str(state))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Adds: 4" in checked.stdout and "Removes: 2" in checked.stdout
    count = int(re.search(r"Count: (\d+)", checked.stdout).group(1))
    assert count == page_count(stack, letter) == 2
    print("\n" + checked.stdout)

    # Ada checks her receipt with the command her manage page gives her.
    ada_page = requests.get(MANAGE_LINK.search(messages["ada@example.org"]).group(0), timeout=10)
    command = shlex.split(html.unescape(RECEIPT_COMMAND.search(ada_page.text).group(1)))
    assert command[:3] == ["python", "manage.py", "verify_log"]
    receipt = verify_log(stack, *command[3:], "--key", key)
    assert receipt.returncode == 0, receipt.stdout + receipt.stderr
    assert "Your signature counts." in receipt.stdout

    # Later: one more signer; the saved checkpoint is consistent with the new one.
    sign(stack, letter, "dan@example.org")
    dan = smtp_sink.wait_for(len(emails) + 1)[-1]
    confirm_over_http(LINK.search(text_part(dan)).group(0))
    assert eventually(
        lambda: LogCheckpoint.objects.filter(letter=letter, size=7).exists(), timeout=20
    ), stack.log_tail()
    again = verify_log(stack, url, "--key", key, "--state", str(state))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Consistent with the checkpoint of 6 entries saved earlier." in again.stdout
    assert "Count: 3" in again.stdout

    # A wrong key fails loudly, with a non-zero exit.
    stranger = Signer(name="x", seed=bytes(32)).verifier.renamed(key.split("+")[0]).line()
    refused = verify_log(stack, url, "--key", stranger)
    assert refused.returncode != 0
    assert "FAILED: the checkpoint does not verify" in refused.stderr
