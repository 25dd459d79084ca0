"""The full public list of a letter's signatories: named signatories first, then every
public signature, newest first, keyset-paged, searchable and filterable."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET
from django_countries import countries

from core.normalize import name_key
from core.params import MAX_ID, BadParameter, parse_cursor
from letters.models import Letter

from ..models import PUBLIC_SIGNATURE_FIELDS, Signature, public_comment_q
from ..selectors import letter_anonymous_verified_count, letter_breakdowns, letter_signature_count

PER_PAGE = 50
QUERY_MAX_LENGTH = 100
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_CURSOR_MICROS = (datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC) - EPOCH) // timedelta(
    microseconds=1
)


@dataclass(frozen=True)
class SignatoryFilters:
    query: str = ""
    country: str = ""
    verified: bool = False
    # Only signatures with a comment anyone may read.
    comments: bool = False

    @property
    def any(self) -> bool:
        return bool(self.query or self.country or self.verified or self.comments)

    @property
    def named_only(self) -> bool:
        """Whether the filters look at details a withheld name keeps private (searching or
        filtering on them would single the signer out)."""
        return bool(self.query or self.country or self.comments)


@dataclass(frozen=True)
class SignatoryPage:
    signatures: list[Signature]
    next_cursor: str | None


def signature_cursor(when: datetime, pk: int) -> str:
    delta = when - EPOCH
    return f"{(delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds}_{pk}"


def public_signatories_page(
    *, letter: Letter, filters: SignatoryFilters, before: str = "", limit: int = PER_PAGE
) -> SignatoryPage:
    """One page of the letter's public signatures, newest first. Raises BadParameter for a
    cursor this list never gave out.

    Signers who withheld their name but let a verified affiliation count appear too, as
    "Name withheld"; a search or filter on what they keep private leaves them out."""
    if filters.named_only:
        signatures = Signature.objects.publicly_listed().filter(letter=letter)
    else:
        signatures = Signature.objects.publicly_shown().filter(letter=letter)
    signatures = signatures.with_public_comment()
    if filters.comments:
        signatures = signatures.filter(public_comment_q())
    if filters.query:
        key = name_key(filters.query)
        matches = Q(organization__icontains=filters.query) | Q(title__icontains=filters.query)
        if key:
            matches |= Q(name_key__contains=key)
        signatures = signatures.filter(matches)
    if filters.country:
        signatures = signatures.filter(country=filters.country)
    if filters.verified:
        signatures = signatures.exclude(affiliation_verification="")
    if before:
        micros, pk = parse_cursor(before, name="before", maximums=(MAX_CURSOR_MICROS, MAX_ID))
        when = EPOCH + timedelta(microseconds=micros)
        signatures = signatures.filter(verified_at__lte=when).exclude(verified_at=when, pk__gte=pk)
    rows = list(
        signatures.order_by("-verified_at", "-pk").only(*PUBLIC_SIGNATURE_FIELDS, "show_name")[
            : limit + 1
        ]
    )
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = signature_cursor(last.verified_at, last.pk)  # type: ignore[arg-type]
    return SignatoryPage(rows[:limit], next_cursor)


def _filters(request: HttpRequest) -> SignatoryFilters:
    raw = request.GET.get("q", "")
    query = "".join(ch for ch in raw if ch.isprintable())[:QUERY_MAX_LENGTH].strip()
    country = request.GET.get("country", "").upper()
    if country not in countries:
        country = ""
    return SignatoryFilters(
        query=query,
        country=country,
        verified=request.GET.get("verified") == "1",
        comments=request.GET.get("comments") == "1",
    )


@require_GET
def signatory_list(request: HttpRequest, slug: str) -> HttpResponse:
    letter = get_object_or_404(Letter.objects.public(), slug=slug)
    filters = _filters(request)
    before = request.GET.get("before", "")
    try:
        page = public_signatories_page(letter=letter, filters=filters, before=before)
    except BadParameter as error:
        return render(
            request,
            "petition/signatories.html",
            {
                "letter": letter,
                "error": str(error),
                "filters": filters,
                "page": None,
                "signature_count": letter_signature_count(letter),
            },
            status=400,
        )
    countries_signed = sorted(
        (code for code in letter_breakdowns(letter)["by_country"] if code in countries),
        key=lambda code: countries.name(code),
    )
    return render(
        request,
        "petition/signatories.html",
        {
            "letter": letter,
            "filters": filters,
            "page": page,
            "first_page": not before,
            "named_signatories": list(letter.named_signatories.all())
            if not before and not filters.any
            else [],
            "signature_count": letter_signature_count(letter),
            "anonymous_verified_count": letter_anonymous_verified_count(letter),
            "countries": [(code, countries.name(code)) for code in countries_signed],
        },
    )
