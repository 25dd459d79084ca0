"""Letter text: Markdown in, sanitized HTML out."""

import html as html_lib
from functools import lru_cache

import markdown
import nh3

ALLOWED_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "u", "s",
    "blockquote", "ul", "ol", "li", "a", "code", "pre", "abbr", "sup", "sub",
    "table", "thead", "tbody", "tr", "th", "td", "dl", "dt", "dd",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "th": {"align"}, "td": {"align"}}


@lru_cache(maxsize=512)
def render_markdown(text: str) -> str:
    """Render Markdown to HTML that keeps no script, event handler, style or unsafe URL.

    Images are dropped on purpose: a letter page never loads anything from elsewhere.
    A top-level heading becomes h2, since the letter's title is the page's h1.
    """
    html = markdown.markdown(
        text, extensions=["extra", "sane_lists", "smarty"], output_format="html"
    )
    html = html.replace("<h1", "<h2").replace("</h1>", "</h2>")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
        strip_comments=True,
    )


def markdown_excerpt(text: str, length: int = 200) -> str:
    """Plain text from the start of the letter, for meta descriptions."""
    plain = html_lib.unescape(nh3.clean(render_markdown(text), tags=set()))
    plain = " ".join(plain.split())
    if len(plain) <= length:
        return plain
    return plain[: length - 1].rsplit(" ", 1)[0] + "…"
