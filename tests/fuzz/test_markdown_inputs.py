"""Markdown from the editor's live preview (a script posts it; no <form> shows it), and
the one place the suite sends full-size pathological Markdown: what stalled the site once
must now answer quickly, or be refused, at every size up to the limit."""

import time
from collections.abc import Callable

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from letters.markdown import MARKDOWN_MAX_LENGTH

from .budget import fuzz_settings
from .harness import Site, Visitor, check_request
from .strategies import MARKDOWN_UNITS, hostile_text

pytestmark = pytest.mark.django_db

# Far above what a linear renderer needs for the largest accepted text on a busy machine,
# far below the minutes the old renderer took.
SECONDS = 5


def test_hostile_markdown_previews_never_fail(
    site: Site, django_capture_on_commit_callbacks: Callable
) -> None:
    visitor = Visitor(site, "owner")

    @fuzz_settings(weight=2)
    @given(body=st.one_of(hostile_text(), st.lists(hostile_text(), min_size=2, max_size=3)))
    def preview(body: object) -> None:
        with visitor.example() as client:
            check_request(
                lambda: client.post(reverse("markdown_preview"), {"body": body}),
                django_capture_on_commit_callbacks,
                before=visitor.baseline,
                must_store_nothing=True,
            )

    preview()


def test_full_size_pathological_markdown_answers_quickly(
    site: Site, django_capture_on_commit_callbacks: Callable
) -> None:
    edit = reverse("letter_edit", args=[site.draft.slug])
    visitor = Visitor(site, "owner")

    @fuzz_settings(weight=0.5)
    @given(
        unit=st.sampled_from(MARKDOWN_UNITS),
        size=st.integers(MARKDOWN_MAX_LENGTH // 2, MARKDOWN_MAX_LENGTH),
        save=st.booleans(),
    )
    def send(unit: str, size: int, save: bool) -> None:
        body = (unit * (size // len(unit) + 1))[:size]
        with visitor.example() as client:
            started = time.monotonic()
            if save:
                data = {
                    "title": "Draft",
                    "slug": site.draft.slug,
                    "body": body,
                    "language": "en",
                    "signatories-TOTAL_FORMS": "0",
                    "signatories-INITIAL_FORMS": "0",
                }
                check_request(lambda: client.post(edit, data), django_capture_on_commit_callbacks)
                check_request(
                    lambda: client.get(reverse("letter_preview", args=[site.draft.slug])),
                    django_capture_on_commit_callbacks,
                    must_store_nothing=True,
                )
            else:
                check_request(
                    lambda: client.post(reverse("markdown_preview"), {"body": body}),
                    django_capture_on_commit_callbacks,
                    must_store_nothing=True,
                )
            assert time.monotonic() - started < SECONDS

    send()
