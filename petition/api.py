"""Public API v1: JSON for letters and their counts. Never an email address or an IP."""

from datetime import datetime

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import NinjaAPI, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from letters.models import Letter

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
