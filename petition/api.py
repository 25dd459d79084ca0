"""Public API v1: JSON for letters and their counts. Never an email address or an IP."""

from datetime import UTC, datetime, timedelta

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import NinjaAPI, Query, Schema
from ninja.errors import HttpError
from ninja.pagination import LimitOffsetPagination, paginate

from letters.models import Letter

from .models import Signature
from .selectors import letter_breakdowns, letter_signature_counts

api = NinjaAPI(
    title="Undersigned API",
    version="1",
    description="Public, read-only data about open letters and their verified signatures.",
    urls_namespace="api-v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


class LetterSummary(Schema):
    slug: str
    title: str
    recipient: str
    status: str
    goal: int | None
    signature_count: int
    closes_at: datetime | None
    language: str
    url: str


class DayCount(Schema):
    date: str
    count: int


class Breakdowns(Schema):
    by_country: dict[str, int]
    by_day: list[DayCount]


class LetterDetail(LetterSummary):
    published_at: datetime | None
    breakdowns: Breakdowns


def _summary(request: HttpRequest, letter: Letter, count: int) -> dict[str, object]:
    return {
        "slug": letter.slug,
        "title": letter.title,
        "recipient": letter.recipient,
        "status": letter.public_status,
        "goal": letter.goal,
        "signature_count": count,
        "closes_at": letter.closes_at,
        "language": letter.language,
        "url": request.build_absolute_uri(letter.get_absolute_url()),
        "published_at": letter.published_at,
    }


@api.get("/letters", response=list[LetterSummary], summary="Open letters")
@paginate(LimitOffsetPagination)
def letter_list(request: HttpRequest) -> list[dict[str, object]]:
    letters = list(Letter.objects.accepting_signatures())
    counts = letter_signature_counts(letter.pk for letter in letters)
    return [_summary(request, letter, counts[letter.pk]) for letter in letters]


@api.get("/letters/{slug}", response=LetterDetail, summary="One letter with its count")
def letter_detail(request: HttpRequest, slug: str) -> dict[str, object]:
    letter = get_object_or_404(Letter.objects.public(), slug=slug)
    detail = _summary(request, letter, letter_signature_counts([letter.pk])[letter.pk])
    detail["breakdowns"] = letter_breakdowns(letter)
    return detail


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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


class SignaturePage(Schema):
    items: list[PublicSignature]
    next: str | None


class SignatureFilters(Schema):
    limit: int = 50
    before: str | None = None


@api.get(
    "/letters/{slug}/signatures",
    response=SignaturePage,
    summary="Public signatures, newest first",
    description="Only verified signatures whose signers chose to show their name. Pass the "
    "`next` value back as `before` for the following page.",
)
def letter_signatures(
    request: HttpRequest, slug: str, filters: Query[SignatureFilters]
) -> dict[str, object]:
    letter = get_object_or_404(Letter.objects.public(), slug=slug)
    if not 1 <= filters.limit <= 200:
        raise HttpError(400, "`limit` must be between 1 and 200.")
    signatures = Signature.objects.publicly_listed().filter(letter=letter)
    if filters.before:
        micros, _, pk = filters.before.partition("_")
        if not (micros.isdigit() and pk.isdigit() and len(micros) < 20 and len(pk) < 20):
            raise HttpError(400, "`before` must be a `next` value from a previous page.")
        when = EPOCH + timedelta(microseconds=int(micros))
        signatures = signatures.filter(verified_at__lte=when).exclude(
            verified_at=when, pk__gte=int(pk)
        )
    page = list(
        signatures.order_by("-verified_at", "-pk").values(
            "pk", "name", "title", "organization", "city", "country", "verified_at"
        )[: filters.limit + 1]
    )
    more = len(page) > filters.limit
    page = page[: filters.limit]
    last = page[-1] if page else None
    return {
        "items": [{**row, "signed_at": row["verified_at"]} for row in page],
        "next": _cursor(last["verified_at"], last["pk"]) if more and last else None,
    }
