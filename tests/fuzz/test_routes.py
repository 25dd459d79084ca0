"""Every route of the URLconf, reached with hostile path segments (ids, slugs, tokens,
language codes), by GET and POST, signed out and as a letter's owner. The routes are read
from the URLconf itself, so a new one is attacked from the day it is added."""

import re
from collections.abc import Callable
from urllib.parse import quote

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import given
from hypothesis import strategies as st

from .budget import fuzz_settings
from .harness import Site, Visitor, check_request
from .strategies import hostile_text, number_text

pytestmark = pytest.mark.django_db

# Django's own admin has its own test suite; the rest is ours.
SKIPPED_PREFIXES = ("admin/",)

CONVERTER = re.compile(r"<(?:(?P<kind>\w+):)?(?P<name>\w+)>|\(\?P<(?P<group>\w+)>[^)]*\)")


def routes() -> list[str]:
    def walk(patterns: list, prefix: str = "") -> list[str]:
        found = []
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                found += walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                found.append(prefix + str(pattern.pattern))
        return found

    return [
        route
        for route in walk(get_resolver().url_patterns)
        if not route.startswith(SKIPPED_PREFIXES)
    ]


def segment(kind: str | None) -> st.SearchStrategy[str]:
    real = {
        "slug": st.sampled_from(["privacy-letter", "fuzz-draft", "fuzz-closed", "no-such"]),
        "int": st.one_of(number_text(), st.sampled_from(["1", "2", "0", "9" * 30])),
        "lang": st.sampled_from(["fr", "de", "es", "en", "pt-br", "zh-hans", "xx"]),
    }.get(kind or "", st.nothing())
    return st.one_of(real, hostile_text().map(lambda t: quote(t, safe="")))


@st.composite
def addresses(draw: st.DrawFn, all_routes: list[str]) -> str:
    route = draw(st.sampled_from(all_routes))

    def fill(match: re.Match[str]) -> str:
        return draw(segment(match.group("kind")))

    path = CONVERTER.sub(fill, route).replace("^", "").replace("$", "")
    return "/" + path


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("identity", ["anonymous", "owner"])
def test_hostile_path_segments_never_fail(
    site: Site, identity: str, method: str, django_capture_on_commit_callbacks: Callable
) -> None:
    all_routes = routes()
    visitor = Visitor(site, identity)

    @fuzz_settings(weight=3)
    @given(url=addresses(all_routes))
    def visit(url: str) -> None:
        with visitor.example() as client:
            check_request(
                lambda: getattr(client, method)(url),
                django_capture_on_commit_callbacks,
                before=visitor.baseline,
                must_store_nothing=method == "get" and not url.endswith("export.csv"),
            )

    visit()


def test_routes_are_found() -> None:
    found = routes()
    assert "letters/<slug:slug>/sign/" in found
    assert any(CONVERTER.search(route) for route in found)
