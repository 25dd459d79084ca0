"""Locust users for `make bench`: signers who post the form, confirmers who follow links.

bench/run.py starts this in its own process and sets BENCH_* in its environment. Every
request is written to BENCH_RECORDS_FILE as `what,start,milliseconds,outcome` (outcome
`ok` or the kind of error), so run.py can compute exact percentiles per second.
"""

import json
import os
import random
import re
import time
import uuid
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlencode

import gevent
from gevent.queue import Empty, Queue
from locust import FastHttpUser, constant, events, task

SLUG = os.environ.get("BENCH_SLUG", "fair-terms")
SIGN_SECONDS = float(os.environ.get("BENCH_SIGN_SECONDS", "60"))
CONFIRMERS = int(os.environ.get("BENCH_CONFIRMERS", "50"))
LINKS_FILE = Path(os.environ.get("BENCH_LINKS_FILE", "links.txt"))
RECORDS_FILE = Path(os.environ.get("BENCH_RECORDS_FILE", "records.csv"))
PHASE_FILE = Path(os.environ.get("BENCH_PHASE_FILE", "phase.json"))
STOP_FILE = Path(os.environ.get("BENCH_STOP_FILE", "stop"))
COUNTRIES = ["FR", "DE", "ES", "IT", "NL", "BE", "PL", "PT", "SE", "GB", "US", "CA", "BR", "NG"]

# The forms signers post carry no CSRF token (config/csrf.py checks the origin instead):
# the pages are read to see the form is there, and posts say they come from this site.
FORM_TAG = re.compile(r'<form method="post"')
SIGNED_PATH = f"/letters/{SLUG}/signed/"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
CONFIRM_ATTEMPTS = 3

rng = random.Random()  # noqa: S311 (made-up form data, not secrets)
links: Queue = Queue()
phase: dict[str, float] = {"sign_start": 0.0, "sign_end": float("inf")}
records: IO[str] | None = None


def record(what: str, start: float, ms: float, outcome: str) -> None:
    if records is not None:
        records.write(f"{what},{start:.4f},{ms:.2f},{outcome}\n")


def outcome_of(response: Any, expected: int) -> str:
    error = getattr(response, "error", None)
    if response.status_code == 0 and error is not None:
        return type(error).__name__
    if response.status_code != expected:
        return f"http_{response.status_code}"
    return "ok"


def same_origin(host: str | None) -> dict[str, str]:
    """The headers a browser sends with a form posted from one of this site's own pages."""
    origin = (host or "").rstrip("/")
    return {"Origin": origin, "Sec-Fetch-Site": "same-origin"} if origin else {}


def settle(response: Any, outcome: str) -> None:
    """Tell locust's own statistics what we decided about a response."""
    if outcome == "ok":
        response.success()
    else:
        response.failure(outcome)


def _tail_links() -> None:
    """Feed the confirmers every link the SMTP sink writes, as it writes them."""
    offset = 0
    pending = ""
    while True:
        if LINKS_FILE.exists():
            with LINKS_FILE.open(encoding="utf-8") as handle:
                handle.seek(offset)
                chunk = handle.read()
                offset = handle.tell()
            pending += chunk
            *complete, pending = pending.split("\n")
            for link in complete:
                if link:
                    links.put((link, 1))
        gevent.sleep(0.05)


def _watch_stop(environment: Any) -> None:
    while not STOP_FILE.exists():
        gevent.sleep(0.2)
    environment.runner.quit()


@events.test_start.add_listener
def _on_test_start(environment: Any, **kwargs: Any) -> None:
    global records
    records = RECORDS_FILE.open("a", encoding="utf-8", buffering=1 << 16)
    now = time.time()
    phase.update(sign_start=now, sign_end=now + SIGN_SECONDS)
    PHASE_FILE.write_text(json.dumps(phase))
    gevent.spawn(_tail_links)
    gevent.spawn(_watch_stop, environment)


@events.quitting.add_listener
def _on_quitting(**kwargs: Any) -> None:
    global records
    if records is not None:
        records.close()
        records = None


class Signer(FastHttpUser):
    """Reads the letter once (its signing form is there), then signs again and again, each
    time with a new address and a new client IP (through X-Forwarded-For, as a proxy would
    pass it)."""

    weight = 1
    wait_time = constant(0)
    network_timeout = 30.0
    connection_timeout = 10.0

    def on_start(self) -> None:
        self.ready = False
        self.read_letter()

    def read_letter(self) -> None:
        start, t0 = time.time(), time.perf_counter()
        with self.client.get(f"/letters/{SLUG}/", name="letter page", catch_response=True) as r:
            outcome = outcome_of(r, 200)
            self.ready = outcome == "ok" and bool(FORM_TAG.search(r.text or ""))
            if outcome == "ok" and not self.ready:
                outcome = "no_form"
            settle(r, outcome)
        record("page", start, (time.perf_counter() - t0) * 1000, outcome)

    @task
    def sign(self) -> None:
        if time.time() >= phase["sign_end"]:
            gevent.sleep(0.5)  # the signing phase is over; confirmers carry on
            return
        if not self.ready:
            self.read_letter()
            if not self.ready:
                gevent.sleep(0.5)
                return
        body = urlencode(
            {
                "name": f"Bench Signer {rng.randrange(1_000_000)}",
                "email": f"{uuid.uuid4().hex}@example.org",
                "country": rng.choice(COUNTRIES),
                "show_name": "on",
                "consent": "on",
            }
        )
        address = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        start, t0 = time.time(), time.perf_counter()
        with self.client.post(
            f"/letters/{SLUG}/sign/",
            data=body,
            headers={**FORM, **same_origin(self.host), "X-Forwarded-For": address},
            allow_redirects=False,
            catch_response=True,
            name="sign",
        ) as r:
            ms = (time.perf_counter() - t0) * 1000
            outcome = outcome_of(r, 302)
            if outcome == "ok" and not (r.headers or {}).get("Location", "").endswith(SIGNED_PATH):
                outcome = "redirect_elsewhere"
            settle(r, outcome)
        record("sign", start, ms, outcome)


class Confirmer(FastHttpUser):
    """Follows each confirmation link as soon as the SMTP sink has it: opens the page, then
    presses its button, as the signer would."""

    fixed_count = CONFIRMERS
    wait_time = constant(0)
    network_timeout = 30.0
    connection_timeout = 10.0

    @task
    def confirm(self) -> None:
        try:
            link, attempt = links.get(timeout=0.5)
        except Empty:
            return
        start, t0 = time.time(), time.perf_counter()
        with self.client.get(link, name="confirm page", catch_response=True) as r:
            outcome = outcome_of(r, 200)
            has_form = outcome == "ok" and bool(FORM_TAG.search(r.text or ""))
            if outcome == "ok" and not has_form:
                outcome = "no_form"
            settle(r, outcome)
        record("confirm_page", start, (time.perf_counter() - t0) * 1000, outcome)
        if not has_form:
            self.retry(link, attempt)
            return
        start, t0 = time.time(), time.perf_counter()
        with self.client.post(
            link,
            data="",
            headers={**FORM, **same_origin(self.host)},
            name="confirm",
            catch_response=True,
        ) as r:
            outcome = outcome_of(r, 200)
            if outcome == "ok" and "your signature counts" not in (r.text or "").lower():
                # A link followed twice (a retry after a timeout that did verify) says so.
                already = "already confirmed" in (r.text or "").lower()
                outcome = "already_confirmed" if already else "not_confirmed"
            settle(r, outcome)
        record("confirm", start, (time.perf_counter() - t0) * 1000, outcome)
        if outcome not in {"ok", "already_confirmed"}:
            self.retry(link, attempt)

    def retry(self, link: str, attempt: int) -> None:
        if attempt < CONFIRM_ATTEMPTS:
            links.put((link, attempt + 1))
