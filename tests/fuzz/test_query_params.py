"""Every page and data endpoint, fetched with hostile query parameters and headers.

The parameters are the ones the code reads: test_every_query_parameter_read_is_fuzzed
finds them in the source (request.GET and the widget options) and in the API's OpenAPI
document, and fails when one is missing from PARAMETERS. A GET never stores anything, so
every example also checks that nothing stored changed, and that a JSON, SVG or XML answer
is well formed whatever the input.
"""

import json
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from tests.responses import TestResponse

from .budget import fuzz_settings
from .harness import Site, Visitor, check_request
from .strategies import SNIPPETS, hostile_text, number_text, url_text

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("accounts", "config", "core", "delivery", "letters", "petition")

PARAMETERS = {
    # the API (django-ninja schemas and its pagination)
    "limit": number_text(),
    "offset": number_text(),
    "before": st.one_of(number_text(), st.builds("{}_{}".format, number_text(), number_text())),
    "status": st.sampled_from(["open", "closed", "draft", "", "OPEN"]),
    # embeds and oEmbed
    "theme": st.sampled_from(["light", "dark", "auto", "LIGHT"]),
    "accent": st.sampled_from(["#fff", "#ABCDEF", "fff", "#12345", "red"]),
    "compact": st.sampled_from(["1", "true", "yes", "0"]),
    "label": st.just("signatures"),
    "goal": st.sampled_from(["1", "true", "yes", "0"]),
    "lang": st.sampled_from(["en", "fr", "de", "es", "pt-br", "zh-hans", "EN", "fr_FR"]),
    "url": st.one_of(
        st.sampled_from(["http://testserver/letters/privacy-letter/", "http://%5B/"]), url_text()
    ),
    "maxwidth": number_text(),
    "maxheight": number_text(),
    "format": st.sampled_from(["json", "xml", "JSON", "yaml"]),
    # the moderation pages and the delivery download
    "state": st.sampled_from(["all", "pending", "verified", "flagged", "shadow", "nope"]),
    "q": st.sampled_from(["Ada", "@example.org", "@", "%", "_"]),
    "document": number_text(),
    # the home page and the list of signatories
    "sort": st.sampled_from(["signed", "newest", "SIGNED"]),
    "country": st.sampled_from(["FR", "fr", "XK", "EU", "ZZ", ""]),
    "verified": st.sampled_from(["1", "0", "true"]),
    "comments": st.sampled_from(["1", "0", "yes", ""]),
    # allauth's pages
    "next": st.sampled_from(["/", "0", "home", "//evil.example/", "http://[/"]),
}

# Pages whose answer is not the page itself (the API's documentation page builds on a
# third-party script) are still fetched; only these never answer 200 by design.
DATA_ENDPOINTS = {
    "api-letters": ("anonymous", "/api/v1/letters"),
    "api-letter": ("anonymous", "/api/v1/letters/privacy-letter"),
    "api-signatures": ("anonymous", "/api/v1/letters/privacy-letter/signatures"),
    "api-openapi": ("anonymous", "/api/v1/openapi.json"),
    "embed-count": ("anonymous", "/embed/privacy-letter/count.json"),
    "embed-badge": ("anonymous", "/embed/privacy-letter/badge.svg"),
    "embed-shields": ("anonymous", "/embed/privacy-letter/shields.json"),
    "embed-loader": ("anonymous", "/embed.js"),
    "oembed": ("anonymous", "/oembed"),
    "og-image": ("anonymous", "/letters/privacy-letter/og.png"),
    "robots": ("anonymous", "/robots.txt"),
    "health": ("anonymous", "/health/"),
    "export-csv": ("owner", "/letters/privacy-letter/moderation/export.csv"),
    "delivery-download": ("owner", "/letters/privacy-letter/delivery/download/"),
    "manage-data": ("anonymous", None),  # the verified signer's data.json, built below
}

# (identity, page) of site.visits, plus the data endpoints above.
PAGES = [
    *[
        ("anonymous", name)
        for name in (
            "home", "letter", "letter-fr", "changelog", "signed", "confirm", "confirmed",
            "manage-request", "manage", "withdraw", "affiliation-request", "affiliation-confirm",
            "reconfirm", "privacy", "embed", "api-docs", "not-found", "login", "signup",
            "password-reset", "reconfirm-earlier", "signatories", "contact",
        )
    ],
    *[
        ("owner", name)
        for name in (
            "dashboard", "new-letter", "edit", "preview", "team", "translations",
            "translation-edit", "named-signatories", "moderation", "moderation-log",
            "moderation-entry", "moderation-invalidate", "moderation-watch", "delivery",
            "account", "account-email", "password-change", "mfa", "mfa-setup",
            "translation-delete", "reauthenticate", "edit-draft", "edit-closed",
        )
    ],
    ("moderator", "moderation"),
    ("moderator", "moderation-log"),
    ("moderator", "moderation-watch"),
    ("moderator", "moderation-entry"),
    ("moderator", "team"),
    ("invitee", "invitation"),
    ("staff", "staff-letters"),
    *[(identity, name) for name, (identity, _) in DATA_ENDPOINTS.items()],
]  # fmt: skip


# oEmbed's own answer for a format the provider does not offer (oEmbed 1.0, 2.3.5).
EXPECTED_5XX = {"oembed": {501}}

# A GET that stores on purpose: who exported the signatures is in the audit log.
AUDITED_READS = {"export-csv": frozenset({"letters.AuditEntry"})}


def address(site: Site, identity: str, page: str) -> str:
    if page == "manage-data":
        return site.pages.public["manage"] + "data.json"
    fixed = DATA_ENDPOINTS.get(page, (identity, None))[1]
    return fixed if fixed is not None else site.visits[identity, page]


@cache
def queries() -> st.SearchStrategy[dict[str, object]]:
    names = sorted(PARAMETERS)
    value = st.one_of(
        *(st.tuples(st.just(n), st.one_of(PARAMETERS[n], hostile_text())) for n in names)
    )
    many = st.lists(value, max_size=5).map(dict)
    # A parameter given twice, and one nobody reads.
    doubled = st.builds(
        lambda name, values: {name: values},
        st.sampled_from(names),
        st.lists(hostile_text(), min_size=2, max_size=3),
    )
    stray = st.dictionaries(hostile_text().filter(bool), hostile_text(), max_size=2)
    return st.one_of(many, doubled, stray)


@cache
def headers() -> st.SearchStrategy[dict[str, str]]:
    # Only what a browser can put in a header: Latin-1 text without line breaks.
    header_text = st.one_of(st.sampled_from(SNIPPETS), hostile_text()).map(
        lambda t: (
            t.encode("latin-1", "ignore").decode("latin-1").replace("\r", "").replace("\n", "")
        )
    )
    return st.fixed_dictionaries(
        {},
        optional={
            "HTTP_ACCEPT_LANGUAGE": st.one_of(
                st.sampled_from(["fr", "de;q=0.9, es;q=x", "*", "zh-Hant-TW", "en-US,en;q=0.5"]),
                header_text,
            ),
            "HTTP_IF_NONE_MATCH": st.one_of(st.just("*"), header_text),
            "HTTP_ACCEPT": st.one_of(st.sampled_from(["application/json", "*/*"]), header_text),
        },
    )


def well_formed(response: TestResponse) -> None:
    kind = response.get("Content-Type", "")
    body = b"".join(response) if response.streaming else response.content
    if not body:
        return
    if "json" in kind:
        json.loads(body)
    elif "svg" in kind or "xml" in kind:
        ElementTree.fromstring(body)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: "-".join(p))
def test_hostile_query_parameters_never_fail_and_store_nothing(
    site: Site, page: tuple[str, str], django_capture_on_commit_callbacks: Callable
) -> None:
    identity, name = page
    url = address(site, identity, name)
    visitor = Visitor(site, identity)

    @fuzz_settings(weight=0.75)
    @given(query=queries(), extra=headers())
    def fetch(query: dict[str, Any], extra: dict[str, Any]) -> None:
        with visitor.example() as client:
            response = check_request(
                lambda: client.get(url, query, **extra),
                django_capture_on_commit_callbacks,
                allowed=EXPECTED_5XX.get(name, set()),
                before=visitor.baseline,
                must_store_nothing=True,
                may_change=AUDITED_READS.get(name, frozenset()),
            )
            well_formed(response)

    fetch()


def test_every_page_is_fetched_with_hostile_parameters(site: Site) -> None:
    fetched = set(PAGES)
    # One translation of the letter's page stands for the others.
    other_languages = {("anonymous", "letter-de"), ("anonymous", "letter-es")}
    assert set(site.visits) - other_languages - fetched == set()


def read_parameters() -> set[str]:
    """Every query parameter name the code reads."""
    pattern = re.compile(r"""(?:GET|query)(?:\.get\(|\.getlist\(|\[|,\s*)["'](\w+)["']""")
    found = set()
    for app in SOURCES:
        for path in (ROOT / app).rglob("*.py"):
            found |= set(pattern.findall(path.read_text()))
    return found


def test_every_query_parameter_read_is_fuzzed(client: Client) -> None:
    document = client.get(reverse("api-v1:openapi-json")).json()
    from_api = {
        parameter["name"]
        for operation in document["paths"].values()
        for method in operation.values()
        for parameter in method.get("parameters", [])
        if parameter["in"] == "query"
    }
    assert from_api
    assert read_parameters() | from_api <= set(PARAMETERS)
