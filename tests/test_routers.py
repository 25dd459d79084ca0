"""Public reads from the replica, everything else from the primary (config/routers.py),
and the settings that turn it on. The running shape is tested in tests/stack/test_scaleout.py."""

from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import OperationalError, transaction
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.urls import resolve

from config.routers import (
    PUBLIC_READ_VIEWS,
    REPLICA,
    PublicReadsMiddleware,
    ReplicaRouter,
    _ReplicaHealth,
    reading_from_replica,
)
from letters.models import Letter
from petition.models import LetterCount, Signature
from tests.test_settings import run_django

PUBLIC_PATHS = {
    "/": "home",
    "/letters/a-letter/": "letter_detail",
    "/letters/a-letter/signatures/": "signatory_list",
    "/embed/a-letter/count.json": "embed_count_json",
    "/embed/a-letter/badge.svg": "embed_badge_svg",
    "/embed/a-letter/shields.json": "embed_shields_json",
    "/embed/a-letter/": "embed_widget",
    "/oembed": "oembed",
    "/api/v1/letters": "api-v1:letter_list",
    "/api/v1/letters/a-letter": "api-v1:letter_detail",
    "/api/v1/letters/a-letter/signatures": "api-v1:letter_signatures",
}


@pytest.fixture(autouse=True)
def _fresh_cache_and_replica() -> None:
    cache.clear()
    _ReplicaHealth.down_until = 0.0


def database_for(request: HttpRequest, model: type = Signature) -> str:
    """Which database a read of `model` uses while the middleware handles `request`."""
    chosen: list[str] = []
    router = ReplicaRouter()

    def view(req: HttpRequest) -> HttpResponse:
        return HttpResponse()

    def get_response(req: HttpRequest) -> HttpResponse:
        req.resolver_match = resolve(req.path_info)
        middleware.process_view(req, view, (), {})
        chosen.append(router.db_for_read(model))
        return HttpResponse()

    middleware = PublicReadsMiddleware(get_response)
    middleware(request)
    return chosen[0]


def get(path: str, address: str = "192.0.2.1", cookie: str = "") -> HttpRequest:
    request = RequestFactory().get(path, REMOTE_ADDR=address)
    if cookie:
        request.META["HTTP_COOKIE"] = cookie
        request.COOKIES = dict([cookie.split("=", 1)])
    return request


def post(path: str, address: str = "192.0.2.1") -> HttpRequest:
    return RequestFactory().post(path, REMOTE_ADDR=address)


def test_every_public_read_view_name_is_a_route_of_the_site() -> None:
    assert {resolve(path).view_name for path in PUBLIC_PATHS} == set(PUBLIC_READ_VIEWS)


@pytest.mark.parametrize("path", sorted(PUBLIC_PATHS))
def test_anonymous_get_of_a_public_page_reads_from_the_replica(path: str) -> None:
    assert database_for(get(path)) == REPLICA


def test_head_of_a_public_page_reads_from_the_replica() -> None:
    assert database_for(RequestFactory().head("/letters/a-letter/")) == REPLICA


@pytest.mark.parametrize(
    "path",
    [
        "/letters/a-letter/confirm/some-token/",
        "/letters/a-letter/manage/some-token/",
        "/letters/a-letter/moderation/",
        "/letters/a-letter/signed/",
        "/health/",
    ],
)
def test_token_moderation_and_health_pages_read_from_the_primary(path: str) -> None:
    assert database_for(get(path)) == "default"


def test_signed_in_reader_of_a_public_page_reads_from_the_primary() -> None:
    request = get("/letters/a-letter/", cookie="sessionid=abc")
    assert database_for(request) == "default"


def test_after_a_write_the_same_client_reads_public_pages_from_the_primary() -> None:
    database_for(post("/letters/a-letter/sign/", address="198.51.100.7"))
    assert database_for(get("/letters/a-letter/signatures/", address="198.51.100.7")) == "default"
    assert database_for(get("/letters/a-letter/signatures/", address="203.0.113.9")) == REPLICA


def test_the_write_mark_expires_after_the_sticky_seconds(settings: Any) -> None:
    settings.DATABASE_REPLICA_STICKY_SECONDS = 10
    with mock.patch.object(cache, "set", wraps=cache.set) as cache_set:
        database_for(post("/letters/a-letter/sign/"))
    assert cache_set.call_args.kwargs["timeout"] == 10


def test_the_write_mark_keeps_no_address_in_the_cache() -> None:
    with mock.patch.object(cache, "set") as cache_set:
        database_for(post("/letters/a-letter/sign/", address="198.51.100.7"))
    key = cache_set.call_args.args[0]
    assert "198.51.100.7" not in key and key.startswith("replica:wrote:")


def test_tally_rows_are_read_from_the_primary_even_on_public_pages() -> None:
    # They fill caches that outlive the request; a lagging copy would stay cached.
    assert database_for(get("/embed/a-letter/count.json"), model=LetterCount) == "default"
    assert database_for(get("/embed/a-letter/count.json"), model=Letter) == REPLICA


def test_a_cache_outage_sends_public_reads_to_the_primary() -> None:
    with mock.patch.object(cache, "get", side_effect=ConnectionError("down")):
        assert database_for(get("/letters/a-letter/")) == "default"


def test_a_cache_outage_does_not_break_a_write() -> None:
    with mock.patch.object(cache, "set", side_effect=ConnectionError("down")):
        assert database_for(post("/letters/a-letter/sign/")) == "default"


@pytest.mark.django_db
def test_reads_inside_a_transaction_on_the_primary_stay_there() -> None:
    chosen: list[str] = []

    def inside(req: HttpRequest) -> None:
        with transaction.atomic():
            chosen.append(ReplicaRouter().db_for_read(Signature))

    _with_public_read(inside)
    assert chosen == ["default"]


def _with_public_read(body: Callable[[HttpRequest], None]) -> None:
    def get_response(req: HttpRequest) -> HttpResponse:
        req.resolver_match = resolve(req.path_info)
        middleware.process_view(req, lambda r: HttpResponse(), (), {})
        assert reading_from_replica()
        body(req)
        return HttpResponse()

    middleware = PublicReadsMiddleware(get_response)
    middleware(get("/letters/a-letter/"))


def test_outside_a_request_everything_uses_the_primary() -> None:
    router = ReplicaRouter()
    assert router.db_for_read(Signature) == "default"
    assert not reading_from_replica()


def test_writes_always_go_to_the_primary_and_migrations_only_run_there() -> None:
    router = ReplicaRouter()
    assert router.db_for_write(Signature) == "default"
    assert router.allow_migrate("default", "petition") is None
    assert router.allow_migrate(REPLICA, "petition") is False


def test_the_public_read_mark_ends_with_the_request() -> None:
    database_for(get("/letters/a-letter/"))
    assert not reading_from_replica()


# --- settings ---------------------------------------------------------------------------
PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "x" * 60,
    "DATABASE_URL": "postgres://u:p@pgbouncer.internal:6432/undersigned",
    "EMAIL_URL": "smtp://mail.internal:2525",
}


def test_replica_url_adds_the_replica_its_router_and_the_middleware() -> None:
    result = run_django(
        "from django.conf import settings as s; r = s.DATABASES['replica']; "
        "print(r['HOST'], r['PORT'], r['NAME'], r['TEST']['MIRROR'], s.DATABASE_ROUTERS, "
        "s.MIDDLEWARE[-1])",
        **PRODUCTION,
        DATABASE_REPLICA_URL="postgres://u:p@replica.internal:5432/undersigned",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "replica.internal",
        "5432",
        "undersigned",
        "default",
        "['config.routers.ReplicaRouter']",
        "config.routers.PublicReadsMiddleware",
    ]


def test_without_a_replica_there_is_no_router_and_no_middleware() -> None:
    result = run_django(
        "from django.conf import settings as s; "
        "print(sorted(s.DATABASES), s.DATABASE_ROUTERS, 'config.routers.PublicReadsMiddleware' in s.MIDDLEWARE)",
        **PRODUCTION,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["['default']", "[]", "False"]


def test_transaction_pooling_turns_off_server_side_cursors_and_prepared_statements() -> None:
    result = run_django(
        "from django.conf import settings as s; "
        "print(*[(d['DISABLE_SERVER_SIDE_CURSORS'], d['OPTIONS']['prepare_threshold']) "
        "for d in s.DATABASES.values()])",
        **PRODUCTION,
        DATABASE_REPLICA_URL="postgres://u:p@pgbouncer.internal:6432/undersigned_replica",
        DATABASE_POOLER="transaction",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["(True,", "None)", "(True,", "None)"]


def test_an_unknown_pooler_mode_refuses_to_start_with_a_clear_message() -> None:
    result = run_django("print('started')", **PRODUCTION, DATABASE_POOLER="statement")
    assert result.returncode != 0 and "started" not in result.stdout
    assert "DATABASE_POOLER must be session or transaction" in result.stderr


def test_a_replica_without_postgresql_refuses_to_start_with_a_clear_message() -> None:
    result = run_django(
        "print('started')",
        DJANGO_DEBUG="1",
        DATABASE_REPLICA_URL="postgres://u:p@replica.internal:5432/undersigned",
    )
    assert result.returncode != 0 and "started" not in result.stdout
    assert "DATABASE_REPLICA_URL needs DATABASE_URL on PostgreSQL" in result.stderr


# --- a failing replica --------------------------------------------------------------------
def serve(request: HttpRequest, *, replica_fails: bool, primary_fails: bool = False) -> list[str]:
    """Run `request` through the middleware as Django would, with a view that reads once
    and fails on a database that is down; returns the databases its runs read from."""
    reads: list[str] = []

    def view(req: HttpRequest) -> HttpResponse:
        database = ReplicaRouter().db_for_read(Signature)
        reads.append(database)
        if (database == REPLICA and replica_fails) or (database == "default" and primary_fails):
            raise OperationalError("connection refused")
        return HttpResponse(database)

    def get_response(req: HttpRequest) -> HttpResponse:
        req.resolver_match = resolve(req.path_info)
        middleware.process_view(req, view, (), {})
        try:
            return view(req)
        except OperationalError as exc:
            answer = middleware.process_exception(req, exc)
            return answer if answer is not None else HttpResponse(status=503)

    middleware = PublicReadsMiddleware(get_response)
    response = middleware(request)
    reads.append(f"status {response.status_code}")
    return reads


def test_a_public_read_the_replica_fails_is_answered_from_the_primary() -> None:
    assert serve(get("/letters/a-letter/"), replica_fails=True) == [
        REPLICA,
        "default",
        "status 200",
    ]


def test_after_a_replica_failure_public_reads_skip_it_for_a_while() -> None:
    serve(get("/letters/a-letter/"), replica_fails=True)
    assert serve(get("/letters/a-letter/"), replica_fails=True) == ["default", "status 200"]
    _ReplicaHealth.down_until = 0.0  # the retry interval has passed
    assert serve(get("/letters/a-letter/"), replica_fails=False) == [REPLICA, "status 200"]


def test_a_failing_primary_is_not_retried_and_answers_the_usual_503() -> None:
    reads = serve(get("/letters/a-letter/", cookie="sessionid=abc"), replica_fails=True,
                  primary_fails=True)  # fmt: skip
    assert reads == ["default", "status 503"]


def test_when_both_databases_fail_the_answer_is_the_usual_503() -> None:
    reads = serve(get("/letters/a-letter/"), replica_fails=True, primary_fails=True)
    assert reads == [REPLICA, "default", "status 503"]
