"""Letter text: Markdown in, sanitized HTML out.

The renderer is cmark-gfm (the C reference implementation of CommonMark, with GitHub's
table and footnote extensions): its parsing is linear in the input by design, where the
pure-Python renderers tried took seconds to minutes, or overflowed the stack, on a few
kilobytes of brackets or list markers. The limits below keep what linear time still
allows (a page of 50,000 nested quotes, 25,000 table cells) away from readers' browsers,
the delivery PDF and the sanitizer; they are checked when a text is saved
(`markdown_problem`) and again when it is rendered, so a text stored before them cannot
stall a page either.
"""

import html as html_lib
import re
from functools import lru_cache

import cmarkgfm
import nh3
from cmarkgfm.cmark import Options
from django.utils.translation import gettext as _

MARKDOWN_MAX_LENGTH = 50_000
# Quotes, lists and emphasis inside one another; real letters stay under 10.
MARKDOWN_MAX_DEPTH = 24
# Paragraphs, list items, links, table cells...: a long letter with a big table has a
# few thousand.
MARKDOWN_MAX_ELEMENTS = 10_000

ALLOWED_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "u", "s",
    "blockquote", "ul", "ol", "li", "a", "code", "pre", "abbr", "sup", "sub",
    "table", "thead", "tbody", "tr", "th", "td", "dl", "dt", "dd",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "th": {"align"}, "td": {"align"}}
VOID_TAGS = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
    "track", "wbr",
}  # fmt: skip

_OPTIONS = Options.CMARK_OPT_SMART | Options.CMARK_OPT_FOOTNOTES | Options.CMARK_OPT_UNSAFE
_EXTENSIONS = ["table"]
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)")
_FOOTNOTES = '<section class="footnotes" data-footnotes>'


def _cmark(text: str) -> str:
    # A lone surrogate (possible from a YAML escape) cannot be encoded for the C library.
    text = text.encode("utf-8", "replace").decode("utf-8")
    html = cmarkgfm.markdown_to_html_with_extensions(text, options=_OPTIONS, extensions=_EXTENSIONS)
    # The letter's title is the page's h1; the footnotes sit under a rule, as in print.
    return html.replace("<h1", "<h2").replace("</h1>", "</h2>").replace(_FOOTNOTES, "<hr>")


def _sanitize(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
        strip_comments=True,
    )


def _structure(html: str) -> tuple[int, int]:
    """How many elements the HTML opens, and how deep they nest at most. Raw HTML in the
    text comes through unchecked, so an unclosed tag counts as nesting, as the sanitizer's
    parser would nest it (its time grows with the square of the depth)."""
    elements = depth = deepest = 0
    for match in _TAG.finditer(html):
        if match[1]:
            depth = max(depth - 1, 0)
            continue
        elements += 1
        if match[2].lower() not in VOID_TAGS:
            depth += 1
            deepest = max(deepest, depth)
    return elements, deepest


@lru_cache(maxsize=128)
def _checked(text: str) -> tuple[str | None, str]:
    """Which limit the text breaks ("length", "depth", "elements") or None, and its
    sanitized HTML when it breaks none."""
    if len(text) > MARKDOWN_MAX_LENGTH:
        return "length", ""
    html = _cmark(text)
    elements, depth = _structure(html)
    if depth > MARKDOWN_MAX_DEPTH:
        return "depth", ""
    if elements > MARKDOWN_MAX_ELEMENTS:
        return "elements", ""
    return None, _sanitize(html)


def markdown_problem(text: str) -> str | None:
    """What makes this text unfit to be saved as a letter's (too long, too deeply nested,
    too much formatting), in words for its author; None when it is fine."""
    broken = _checked(text)[0]
    if broken == "length":
        return _("The text is too long: at most %(max)s characters.") % {"max": MARKDOWN_MAX_LENGTH}
    if broken == "depth":
        return _(
            "The text nests too deeply: quotes, lists, emphasis or HTML tags are put inside "
            "one another more than %(max)s levels deep."
        ) % {"max": MARKDOWN_MAX_DEPTH}
    if broken == "elements":
        return _(
            "The text has too much formatting: more than %(max)s paragraphs, list items, "
            "links, footnote marks, table cells and other elements."
        ) % {"max": MARKDOWN_MAX_ELEMENTS}
    return None


def _fallback(text: str) -> str:
    """A text over the limits (stored before they existed) as escaped plain paragraphs."""
    paragraphs = re.split(r"\n\s*\n", text[:MARKDOWN_MAX_LENGTH])
    return "".join(f"<p>{html_lib.escape(p.strip())}</p>\n" for p in paragraphs if p.strip())


def render_markdown(text: str) -> str:
    """Render Markdown to HTML that keeps no script, event handler, style or unsafe URL.

    Images are dropped on purpose: a letter page never loads anything from elsewhere.
    A top-level heading becomes h2, since the letter's title is the page's h1. A text
    over the limits (see `markdown_problem`) is shown as plain paragraphs instead.
    """
    problem, html = _checked(text)
    return html if problem is None else _fallback(text)


def markdown_excerpt(text: str, length: int = 200) -> str:
    """Plain text from the start of the letter, for meta descriptions."""
    # Only the start is needed: stripping the tags of a whole long letter costs more than
    # rendering it. A tag cut at the end is dropped by the parser.
    plain = html_lib.unescape(nh3.clean(render_markdown(text)[: 20 * length], tags=set()))
    plain = " ".join(plain.split())
    if len(plain) <= length:
        return plain
    return plain[: length - 1].rsplit(" ", 1)[0] + "…"
