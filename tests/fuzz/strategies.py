"""Hostile values for the fuzz suite: what a browser, a script or a careless author may send.

Text never holds lone surrogates: the test client (like a browser) cannot encode them into
a request. Generated text stays under about 2,000 characters, so a slow path shows as a slow
example rather than a stalled suite; the one deliberately large input lives in its own test.

Each strategy is built once (functools.cache): a strategy is immutable, and Hypothesis checks
a new one's whole tree before its first draw, which cost more than the examples themselves
when every test built its own.
"""

from datetime import UTC, datetime, timedelta, timezone
from functools import cache

from hypothesis import strategies as st

MAX_TEXT = 2000

# Characters that have broken or fooled text handling somewhere: controls and NUL, bidi
# overrides and isolates, zero-width and invisible format characters, TAG characters, a
# combining mark to pile up, confusables, digits that str.isdigit() accepts and int()
# refuses (or reads), and the byte-order mark.
SPECIAL_CHARACTERS = (
    "\x00", "\x01", "\x1b", "\x7f", "\r", "\n", "\t", "\x0b", "\x0c", "\x85",
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u034f", "\u180e",
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069",
    "\u200e", "\u200f", "\u061c", "\U000e0041", "\U000e007f", "\u0301", "\u0489",
    "\u0435", "\u0430", "\u2028", "\u2029", "\ufffd", "\uffff", "\U0010ffff",
    "\u00b2", "\u00b3", "\u00b9", "\u0663", "\u096a", "\uff11", "\U0001d7d7", "\u216b", "\u00bd", "\u00df", "\u0130", "\ufb01", "\u3000", "\xa0",
)  # fmt: skip

SNIPPETS = (
    "", " ", "0", "-1", "1e309", "NaN", "inf", "null", "None", "true", "[]", "{}",
    "99999999999999999999999999999999", "-9223372036854775809", "2147483648",
    "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "10000-01-01", "2024-02-30",
    "1970-01-01T00:00:00Z", "9999-12-31", "0000-00-00", "24:00",
    "::1", "[::1]", "2001:db8::/32", "::ffff:127.0.0.1", "fe80::1%eth0", "0.0.0.0/0",
    "203.0.113.7/33", "999.1.1.1", "/", "//", "../../../etc/passwd", "%00", "%", "%5B",
    "http://%5B/", "http://[::1]/", "http://[/", "https://testserver/letters/x/",
    "javascript:alert(1)", "//evil.example/", "http://testserver@evil.example/",
    "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "{{ 7*7 }}", "{% debug %}",
    "' OR 1=1 --", "%(name)s", "%s%s%s", "{0}", "\\", "\\x00", "*", "?", "**", "@", "@.",
    "a@b", "@example.org", "x@[IPv6:::1]", '"quoted"@gmail.com', "user+tag@hotmail.co.uk",
    "\u00fcn\u00ef@ex\u00e4mple.org", "a@co.uk", "a@xn--", "a@-example.org", "a@example..org",
    "=1+2", "@SUM(A1)", "Bob;=1+2;@SUM(A1)", "\x1b[31mred\x1b[0m", "\x1b]0;title\x07",
    "zh-hant", "en", "fr", "xx", "EN_us", "sr-latn", "iw", "../en",
    "Famous P\u0435rson", "Ada\u200bExample", "\u202eevil", "a\u0301" * 90,
)  # fmt: skip

# Markdown that once took super-linear time or recursed without bound, kept small here.
MARKDOWN_UNITS = ("[", "[a", "[^1]", "1. ", "a\n: b\n", "> ", "* ", "`", "<", "&#", "](", "*a")

DIGITS = "0123456789\u00b2\u00b3\u00b9\u0660\u0661\u0662\u0663\u0664\u0665\u096c\u096d\u096e\u096f\uff10\uff11\uff12\uff13\U0001d7ce\U0001d7cf"

_characters = st.characters(exclude_categories=["Cs"])


@cache
def any_text(max_size: int = 200) -> st.SearchStrategy[str]:
    return st.text(_characters, max_size=max_size)


@cache
def special_text() -> st.SearchStrategy[str]:
    """Short strings built mostly of the characters above, with some ordinary letters."""
    return st.lists(
        st.one_of(st.sampled_from(SPECIAL_CHARACTERS), st.sampled_from("aZé 1.-_@")),
        max_size=30,
    ).map("".join)


@cache
def repeated(units: tuple[str, ...] | st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    unit = st.sampled_from(units) if isinstance(units, tuple) else units
    return st.builds(
        lambda piece, n: (piece * n)[:MAX_TEXT], unit.filter(bool), st.integers(1, MAX_TEXT)
    )


@cache
def markdown_text() -> st.SearchStrategy[str]:
    return st.one_of(
        repeated(MARKDOWN_UNITS),
        st.lists(st.sampled_from(MARKDOWN_UNITS), max_size=200).map("".join),
    )


@cache
def number_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers().map(str),
        st.integers(-(2**80), 2**80).map(str),
        st.text(st.sampled_from(DIGITS), min_size=1, max_size=25),
        st.floats().map(str),
    )


@cache
def datetime_text() -> st.SearchStrategy[str]:
    offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
    moments = st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=offsets
    )
    return st.one_of(
        moments.map(lambda d: d.isoformat()),
        moments.map(lambda d: d.strftime("%Y-%m-%dT%H:%M")),
        moments.map(lambda d: d.strftime("%Y-%m-%d %H:%M:%S")),
        moments.map(lambda d: d.date().isoformat()),
        st.datetimes(timezones=st.just(UTC)).map(lambda d: d.strftime("%d/%m/%Y %H:%M")),
    )


@cache
def email_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.emails().map(lambda e: e[:MAX_TEXT]),
        st.builds(lambda local, domain: f"{local}@{domain}", any_text(80), any_text(80)),
        st.builds(lambda n: "a" * n + "@example.org", st.integers(60, 400)),
    )


@cache
def url_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda host, path: f"http://{host}/{path}", any_text(40), any_text(40)),
        st.builds(lambda path: f"http://testserver/letters/{path}/", any_text(60)),
    )


@cache
def hostile_text() -> st.SearchStrategy[str]:
    """Any one of the above: what a field may receive that no form would have sent."""
    return st.one_of(
        st.sampled_from(SNIPPETS),
        special_text(),
        any_text(),
        number_text(),
        datetime_text(),
        email_text(),
        url_text(),
        markdown_text(),
        repeated(st.sampled_from((*SPECIAL_CHARACTERS, "a", "ab ", "\u0301"))),
        st.lists(st.one_of(st.sampled_from(SNIPPETS), special_text()), max_size=4).map("".join),
    )
