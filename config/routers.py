"""Reads of public pages from a streaming replica, everything else from the primary.

Installed only when DATABASE_REPLICA_URL is set. A view opts in by name (PUBLIC_READ_VIEWS):
an anonymous GET or HEAD of one of them reads from the "replica" alias; writes, signed-in
users, token pages (confirmation, manage), moderation and every background task use the
primary. A replica is seconds behind at worst, which a public list may show and a signer
must not:

* the confirmation and manage pages are addressed by the signer's own token and are not
  public reads, so they always read the primary: the signer sees their signature as soon as
  it is confirmed, whatever the replica's lag;
* after any write (a sign or confirm POST, a withdrawal), the same client's public reads go
  to the primary for DATABASE_REPLICA_STICKY_SECONDS. The site sets no cookie for readers,
  so the client is known by its address (TRUSTED_PROXIES aware), kept in the cache only as
  a keyed hash. Clients behind one address share the mark, which only sends them to the
  primary a little longer; a signer whose address changes in those seconds may see the
  public list without their name until the replica catches up, never a wrong count on
  their own pages;
* reads of the tally rows (LetterCount) always use the primary: they fill caches that
  outlive the request, and a count read from a lagging replica would stay cached after
  the replica caught up.

If the replica fails during a public read, the view runs again on the primary (a public
GET writes nothing, so running it twice is safe), and this process leaves the replica
alone for REPLICA_RETRY_SECONDS: an outage of the replica costs capacity, not pages.
"""

import contextlib
import hashlib
import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.db.models import Model
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

REPLICA = "replica"
REPLICA_RETRY_SECONDS = 10.0

PUBLIC_READ_VIEWS = frozenset(
    {
        "home",
        "letter_detail",
        "signatory_list",
        "embed_count_json",
        "embed_badge_svg",
        "embed_shields_json",
        "embed_widget",
        "oembed",
        "api-v1:letter_list",
        "api-v1:letter_detail",
        "api-v1:letter_signatures",
    }
)

# Models whose rows feed long-lived caches: read from the primary even on public pages.
PRIMARY_ONLY_MODELS = frozenset({"petition.lettercount"})

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class _PublicRead:
    client: str
    view: Callable[..., HttpResponse]
    args: Any
    kwargs: Any
    # Whether this request reads the primary (the client wrote recently, or the replica
    # failed); looked up on the request's first database read, so a view answered from the
    # cache costs no lookup at all.
    wrote_recently: bool | None = None
    used_replica: bool = False


class _ReplicaHealth:
    """When this process may try the replica again after it failed."""

    down_until = 0.0


_public_read: ContextVar[_PublicRead | None] = ContextVar("public_read", default=None)


def _client_key(request: HttpRequest) -> str:
    # The client's address, never stored as such: a keyed hash scoped to this purpose.
    from core.clientip import client_ip

    address = client_ip(request) or ""
    digest = hashlib.blake2b(
        address.encode(), key=settings.SECRET_KEY.encode()[:64], digest_size=16
    )
    return f"replica:wrote:{digest.hexdigest()}"


def _wrote_recently(client: str) -> bool:
    try:
        return cache.get(client) is not None
    except Exception:  # the cache being down: we cannot tell, so read what is certain
        return True


def _mark_write(client: str) -> None:
    # The cache being down: this client's reads come from the replica, the page still works.
    with contextlib.suppress(Exception):
        cache.set(client, 1, timeout=settings.DATABASE_REPLICA_STICKY_SECONDS)


class PublicReadsMiddleware:
    """Marks anonymous reads of PUBLIC_READ_VIEWS for the replica, and a client's writes so
    that its next public reads come from the primary."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _public_read.set(None)
        try:
            response = self.get_response(request)
        finally:
            _public_read.reset(token)
        if request.method not in SAFE_METHODS:
            _mark_write(_client_key(request))
        return response

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> None:
        match = request.resolver_match
        if (
            request.method in ("GET", "HEAD")
            and match is not None
            and match.view_name in PUBLIC_READ_VIEWS
            and settings.SESSION_COOKIE_NAME not in request.COOKIES
        ):
            state = _PublicRead(client=_client_key(request), view=view, args=args, kwargs=kwargs)
            if time.monotonic() < _ReplicaHealth.down_until:
                state.wrote_recently = True
            _public_read.set(state)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        state = _public_read.get()
        if (
            state is None
            or not state.used_replica
            or not isinstance(exception, OperationalError | InterfaceError)
        ):
            return None
        logger.warning("replica failed during %s, reading the primary: %s", request.path, exception)
        _ReplicaHealth.down_until = time.monotonic() + REPLICA_RETRY_SECONDS
        state.wrote_recently, state.used_replica = True, False
        with contextlib.suppress(Exception):
            connections[REPLICA].close()
        try:
            return state.view(request, *state.args, **state.kwargs)
        except (OperationalError, InterfaceError):
            return None  # the primary is out of reach too: the usual 503


class ReplicaRouter:
    """Sends reads to the replica inside a marked public read, everything else to the
    primary; migrations run on the primary only."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        state = _public_read.get()
        if (
            state is None
            or model._meta.label_lower in PRIMARY_ONLY_MODELS
            # A read inside a transaction on the primary belongs to that transaction.
            or connections[DEFAULT_DB_ALIAS].in_atomic_block
        ):
            return DEFAULT_DB_ALIAS
        if state.wrote_recently is None:
            state.wrote_recently = _wrote_recently(state.client)
        if state.wrote_recently:
            return DEFAULT_DB_ALIAS
        state.used_replica = True
        return REPLICA

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        # Explicit: without it Django would write an object back where it was read from.
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool:
        return True  # one database, two copies of it

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return None if db == DEFAULT_DB_ALIAS else False


def reading_from_replica() -> bool:
    """Whether this request's reads go to the replica (for tests and diagnostics)."""
    state = _public_read.get()
    if state is None:
        return False
    if state.wrote_recently is None:
        state.wrote_recently = _wrote_recently(state.client)
    return not state.wrote_recently
