"""Letter text cannot stall a page: rendering is linear, and texts over the size and
structure limits are refused when saved and shown as plain text if already stored."""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from delivery.document import letter_blocks
from letters.markdown import (
    MARKDOWN_MAX_DEPTH,
    MARKDOWN_MAX_LENGTH,
    markdown_excerpt,
    markdown_problem,
    render_markdown,
)
from letters.models import Letter, LetterRole
from letters.translation_services import TranslationData, translation_add
from letters.versions import diff_html
from tests.factories import LetterFactory, LetterRoleFactory, UserFactory

N = MARKDOWN_MAX_LENGTH


def fill(unit: str, tail: str = "") -> str:
    return (unit * (N // len(unit) + 1))[: N - len(tail)] + tail


# The inputs that took minutes or overflowed the stack with the previous renderer, and
# others of their kind; each at the largest accepted size.
PATHOLOGICAL = {
    "open brackets": fill("["),
    "bracket letters": fill("[a"),
    "footnote references": fill("[^1]", "\n\n[^1]: note"),
    "ordered list markers": fill("1. "),
    "definition lists": fill("a\n: b\n"),
    "quote markers": fill(">"),
    "quote markers with spaces": fill("> "),
    "asterisks": fill("*"),
    "underscore letters": fill("_a"),
    "asterisk letters": fill("*a"),
    "backtick letters": fill("`a"),
    "backtick runs": fill("``a`"),
    "list markers": fill("- "),
    "nested list": "".join("  " * k + "- x\n" for k in range(220)),
    "link with open parens": "[a](" + fill("(")[4:],
    "link parens closed at the end": fill("[a]((", ")"),
    "image brackets": fill("!["),
    "empty links": fill("[]("),
    "long table": "|a|b|\n|-|-|\n" + fill("|x|y|\n")[: N - 20],
    "wide table": "|" * (N // 2 - 2) + "\n" + fill("|-")[: N // 2 - 2],
    "entities": fill("&#x1"),
    "angle brackets": fill("<a"),
    "unclosed attributes": fill('<a href="'),
    "nested raw html": fill("<div>"),
    "headings": fill("# a\n"),
    "setext headings": fill("a\n=\n"),
    "autolinks": fill("<http://"),
    "emphasis mix": fill("*(*"),
    "paragraphs": fill("x\n\n"),
}


def finishes(work: Callable[[], Any], seconds: float = 10) -> bool:
    """Whether `work` ends within `seconds` (a safety net, not a timing assertion)."""
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(seconds)
    return not thread.is_alive()


@pytest.mark.parametrize("text", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_pathological_text_renders_without_stalling(text: str) -> None:
    results: dict[str, Any] = {}

    def work() -> None:
        results["html"] = render_markdown(text)
        results["excerpt"] = markdown_excerpt(text)
        results["blocks"] = letter_blocks(text)
        results["problem"] = markdown_problem(text)

    assert finishes(work)
    assert isinstance(results["html"], str)


@pytest.mark.parametrize(
    "text",
    [fill(">"), fill("1. "), "".join("  " * k + "- x\n" for k in range(200)), fill("<div>")],
)
def test_deep_nesting_is_refused_and_shown_as_plain_text(text: str) -> None:
    assert "nests too deeply" in (markdown_problem(text) or "")
    html = render_markdown(text)
    assert "<blockquote" not in html and "<ul" not in html and "<div" not in html


def test_a_text_with_too_many_elements_is_refused() -> None:
    assert "too much formatting" in (markdown_problem(fill("[^1]", "\n\n[^1]: note")) or "")


def test_a_text_over_the_length_limit_is_refused_and_rendered_escaped() -> None:
    text = "<b>x</b> " * (N // 9 + 10)
    assert "too long" in (markdown_problem(text) or "")
    html = render_markdown(text)
    assert "<b>" not in html and "&lt;b&gt;" in html
    assert len(render_markdown("x" * 3 * N)) < N + 20


def test_ordinary_letters_are_within_the_limits() -> None:
    text = (
        "# Demands\n\n> We ask:\n>\n> 1. **pay**\n>    - *fairly*, with [links](https://x.org)\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\nA note[^1].\n\n[^1]: The note.\n"
    ) * 50
    assert markdown_problem(text) is None
    assert markdown_problem("x" * MARKDOWN_MAX_LENGTH) is None
    assert markdown_problem(">" * (MARKDOWN_MAX_DEPTH // 2) + " quoted") is None


def test_footnotes_tables_and_smart_quotes_render() -> None:
    html = render_markdown('"Fair" pay[^1].\n\n| a | b |\n|:--|--:|\n| 1 | 2 |\n\n[^1]: Per hour.')
    assert "“Fair”" in html
    assert "<sup>" in html and "Per hour." in html
    assert '<td align="right">2</td>' in html
    assert "<section" not in html and "id=" not in html


def test_a_lone_surrogate_renders_instead_of_failing() -> None:
    assert "a" in render_markdown("a\ud800b")


def test_changelog_diff_of_many_equal_lines_is_quick() -> None:
    old, new = "a\n" * 25_000, "b\n" + "a\n" * 24_999

    assert finishes(lambda: diff_html(old, new))
    assert finishes(lambda: diff_html("a\nb\n" * 12_500, "b\na\n" * 12_500))


# --- Refused where text is saved --------------------------------------------------------

DEEP = ">" * 200 + " too deep"


@pytest.fixture
def author(client: Client) -> Client:
    role = LetterRoleFactory(
        letter=LetterFactory(slug="limits", status=Letter.Status.DRAFT, published_at=None),
        role=LetterRole.Role.OWNER,
    )
    client.force_login(role.user)
    return client


@pytest.mark.django_db
def test_live_preview_refuses_deep_nesting_with_a_message(author: Client) -> None:
    response = author.post(reverse("markdown_preview"), {"body": DEEP})
    assert response.status_code == 422
    assert "nests too deeply" in response.content.decode()


@pytest.mark.django_db
def test_live_preview_refuses_over_long_text(author: Client) -> None:
    response = author.post(reverse("markdown_preview"), {"body": "x" * (N + 1)})
    assert response.status_code == 413


@pytest.mark.django_db
def test_editor_refuses_deep_nesting_with_a_form_error(author: Client) -> None:
    letter = Letter.objects.get(slug="limits")
    form = {
        "title": "Limits",
        "slug": "limits",
        "recipient": "",
        "body": DEEP,
        "goal": "",
        "closes_at": "",
        "language": "en",
        "signatories-TOTAL_FORMS": "0",
        "signatories-INITIAL_FORMS": "0",
        "signatories-MIN_NUM_FORMS": "0",
        "signatories-MAX_NUM_FORMS": "500",
        "version-note": "",
    }
    response = author.post(reverse("letter_edit", kwargs={"slug": letter.slug}), form)
    assert response.status_code == 400
    assert "nests too deeply" in response.content.decode()
    assert Letter.objects.get(pk=letter.pk).body == letter.body


@pytest.mark.django_db
def test_saving_a_translation_refuses_deep_nesting() -> None:
    from django.core.exceptions import ValidationError

    letter = LetterFactory()
    with pytest.raises(ValidationError, match="nests too deeply"):
        translation_add(
            letter=letter,
            user=UserFactory(),
            data=TranslationData(language="fr", title="Lettre", body=DEEP),
        )
    assert not letter.translations.exists()


@pytest.mark.django_db
def test_a_stored_hostile_body_is_served_as_plain_text(client: Client) -> None:
    letter = LetterFactory(body=fill("["), status=Letter.Status.OPEN)
    Letter.objects.filter(pk=letter.pk).update(body=fill(">"))
    response = client.get(letter.get_absolute_url())
    assert response.status_code == 200
    assert "<blockquote" not in response.content.decode()
