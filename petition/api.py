"""Public API v1: JSON for letters and their counts. Never an email address or an IP.

Every answer is public: open to any origin, cookie-free, tagged for conditional GETs and
cacheable for a few seconds, like the embeds.
"""

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.module_loading import import_string
from ninja import Field, NinjaAPI, Query, Schema
from ninja.errors import HttpError
from ninja.pagination import LimitOffsetPagination, paginate

from core.cache import MISSING, cached_twice
from core.http import conditional, public_headers
from core.params import MAX_ID, BadParameter, parse_cursor
from letters.languages import letter_languages, letters_languages
from letters.models import Letter, is_letter_slug

from .models import PUBLIC_SIGNATURE_FIELDS, Signature
from .selectors import letter_breakdowns, letter_signature_counts


class PublicAPI(NinjaAPI):
    """A NinjaAPI whose answers carry the public caching headers and answer 304s."""

    def create_response(
        self,
        request: HttpRequest,
        data: Any,
        *,
        status: int | None = None,
        temporal_response: HttpResponse | None = None,
    ) -> HttpResponse:
        response = super().create_response(
            request, data, status=status, temporal_response=temporal_response
        )
        if request.method in ("GET", "HEAD") and response.status_code == 200:
            return conditional(request, response)
        return public_headers(response)


api = PublicAPI(
    title="Undersigned API",
    version="1",
    description="Public, read-only data about open letters and their verified signatures.",
    urls_namespace="api-v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


class Error(Schema):
    detail: str


class FieldError(Schema):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrors(Schema):
    # What django-ninja answers when a parameter does not fit its declared type or bounds.
    detail: list[FieldError]


# Every GET here answers 304 to a matching If-None-Match (PublicAPI.create_response).
NOT_MODIFIED = {304: None}


class LetterSummary(Schema):
    slug: str
    title: str
    recipient: str
    status: str
    goal: int | None
    signature_count: int
    closes_at: datetime | None
    language: str
    languages: list[str]
    url: str


class DayCount(Schema):
    date: str
    count: int


class Breakdowns(Schema):
    by_country: dict[str, int]
    by_day: list[DayCount]


class Organiser(Schema):
    # Who started the letter, as its owners state it; never an address.
    name: str
    organization: str


class LetterDetail(LetterSummary):
    published_at: datetime | None
    organiser: Organiser
    # Where readers write to the organisers (a form; their addresses stay private).
    contact_url: str
    # The number of the current version of the text (the changelog lists them all).
    version: int
    breakdowns: Breakdowns


def _summary(letter: Letter, count: int, languages: list[str]) -> dict[str, object]:
    """A letter's public fields; `url` is a path until _absolute() makes it a full address."""
    return {
        "slug": letter.slug,
        "title": letter.title,
        "recipient": letter.recipient,
        "status": letter.public_status,
        "goal": letter.goal,
        "signature_count": count,
        "closes_at": letter.closes_at,
        "language": letter.language,
        # The original's language first, then its translations'.
        "languages": languages,
        "url": letter.get_absolute_url(),
        "published_at": letter.published_at,
    }


def _absolute(request: HttpRequest, summary: dict[str, object]) -> dict[str, object]:
    return {**summary, "url": request.build_absolute_uri(str(summary["url"]))}


class LetterFilters(Schema):
    status: Literal["open", "closed"] | None = None


LETTERS_PER_PAGE = 100


class LetterPagination(LimitOffsetPagination):
    """Limit and offset with the bounds the OpenAPI document states."""

    class Input(Schema):
        limit: int = Field(LETTERS_PER_PAGE, ge=1, le=LETTERS_PER_PAGE)
        offset: int = Field(0, ge=0, le=MAX_ID)


@api.get(
    "/letters",
    response={200: list[LetterSummary], 422: ValidationErrors, **NOT_MODIFIED},
    summary="Published letters, newest first",
    description="Open and closed letters (never drafts). `status` keeps only one of them.",
)
@paginate(LetterPagination)
def letter_list(request: HttpRequest, filters: Query[LetterFilters]) -> list[dict[str, object]]:
    chosen = Letter.objects.public()
    accepting = Letter.objects.accepting_signatures()
    if filters.status == "open":
        chosen = accepting
    elif filters.status == "closed":
        chosen = chosen.exclude(pk__in=accepting.values("pk"))
    letters = list(chosen.order_by("-published_at", "-created_at", "-pk"))
    counts = letter_signature_counts(letter.pk for letter in letters)
    languages = letters_languages(letters)
    return [
        _absolute(request, _summary(letter, counts[letter.pk], languages[letter.pk]))
        for letter in letters
    ]


def _detail_from_database(slug: str) -> dict[str, object] | str:
    letter = Letter.objects.public().filter(slug=slug).first()
    if letter is None:
        return MISSING
    detail = _summary(
        letter, letter_signature_counts([letter.pk])[letter.pk], letter_languages(letter)
    )
    detail["breakdowns"] = letter_breakdowns(letter)
    detail["organiser"] = {
        "name": letter.organiser_name,
        "organization": letter.organiser_organization,
    }
    detail["contact_url"] = settings.SITE_URL + reverse("letter_contact", args=[letter.slug])
    detail["version"] = letter.version
    return detail


@api.get(
    "/letters/{slug}",
    response={200: LetterDetail, 404: Error, **NOT_MODIFIED},
    summary="One letter with its count",
)
def letter_detail(request: HttpRequest, slug: str) -> dict[str, object]:
    # Cached like count.json: embedders poll this too, and must not reach the database.
    if not is_letter_slug(slug):
        raise Http404("No public letter with this slug.")
    detail = cached_twice(f"api:letter:{slug}", lambda: _detail_from_database(slug))
    if detail == MISSING:
        raise Http404("No public letter with this slug.")
    return _absolute(request, detail)  # type: ignore[arg-type]


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The largest `before` time a datetime can hold: the last microsecond of year 9999.
MAX_CURSOR_MICROS = (datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC) - EPOCH) // timedelta(
    microseconds=1
)


def _cursor(when: datetime, pk: int) -> str:
    delta = when - EPOCH
    return f"{(delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds}_{pk}"


class PublicSignature(Schema):
    name: str
    title: str
    organization: str
    city: str
    country: str
    signed_at: datetime
    # How the stated affiliation (title, organization) was checked, if at all: by an email
    # to an address at `affiliation_domain`, or by the letter's moderators.
    affiliation_verified: Literal["email", "moderator"] | None
    # The organization's domain it was checked against; never an address.
    affiliation_domain: str | None
    # The index of its `add` entry in the letter's public log (/letters/<slug>/log/), if
    # the log has it yet.
    log_index: int | None = None
    # The signer's comment, when they chose to show it and the letter's moderators let it
    # show (pre-moderated letters: once approved); else null.
    comment: str | None = None
    # True for a signer who withheld their name but let a verified affiliation count in
    # public: name, title, organization, city and country are then empty, and only how the
    # affiliation was verified is given.
    name_withheld: bool = False


# What a withheld name shows of the signature's details: nothing.
WITHHELD = dict.fromkeys(("name", "title", "organization", "city", "country"), "")


class SignaturePage(Schema):
    items: list[PublicSignature]
    next: str | None


SIGNATURES_PER_PAGE_MAX = 200


class SignatureFilters(Schema):
    limit: int = Field(50, ge=1, le=SIGNATURES_PER_PAGE_MAX)
    before: str | None = Field(
        None, max_length=64, description="The `next` value of the previous page."
    )


@api.get(
    "/letters/{slug}/signatures",
    response={
        200: SignaturePage,
        400: Error,
        404: Error,
        422: ValidationErrors,
        **NOT_MODIFIED,
    },
    summary="Public signatures, newest first",
    description="Verified signatures whose signers chose to show their name, and those who "
    "withheld it but let a verified affiliation count (`name_withheld`). Pass the "
    "`next` value back as `before` for the following page; any other `before` is a 400.",
)
def letter_signatures(
    request: HttpRequest, slug: str, filters: Query[SignatureFilters]
) -> dict[str, object]:
    letter = get_object_or_404(Letter.objects.public(), slug=slug)
    signatures = Signature.objects.publicly_shown().filter(letter=letter).with_public_comment()
    if filters.before:
        try:
            micros, pk = parse_cursor(
                filters.before, name="before", maximums=(MAX_CURSOR_MICROS, MAX_ID)
            )
        except BadParameter as error:
            raise HttpError(400, str(error)) from None
        when = EPOCH + timedelta(microseconds=micros)
        signatures = signatures.filter(verified_at__lte=when).exclude(verified_at=when, pk__gte=pk)
    page = list(
        signatures.order_by("-verified_at", "-pk").values(
            "pk", *PUBLIC_SIGNATURE_FIELDS, "show_name", "public_comment"
        )[: filters.limit + 1]
    )
    more = len(page) > filters.limit
    page = page[: filters.limit]
    last = page[-1] if page else None
    # Filled by the trust log (a layer above petition), named in settings.
    log_indexes = import_string(settings.SIGNATURE_LOG_INDEXES)([row["pk"] for row in page])
    return {
        "items": [
            {
                **(row if row["show_name"] else {**row, **WITHHELD}),
                "log_index": log_indexes.get(row["pk"]),
                "signed_at": row["verified_at"],
                "affiliation_verified": row["affiliation_verification"] or None,
                "affiliation_domain": row["affiliation_domain"] or None,
                "comment": (row["public_comment"] or None) if row["show_name"] else None,
                "name_withheld": not row["show_name"],
            }
            for row in page
        ],
        "next": _cursor(last["verified_at"], last["pk"]) if more and last else None,
    }
