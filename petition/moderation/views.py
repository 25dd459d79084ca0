"""The moderation pages of a letter: queue, bulk actions, invalidation, watch list, audit
log and export. Every view is for the letter's team only (letters.permissions)."""

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.db import DatabaseError, transaction
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.db import time_limited, timed_out
from core.params import BadParameter, optional_int, parse_int
from letters.audit import audit_record
from letters.models import AuditEntry, Letter
from letters.permissions import ANY_ROLE, OWNER, letter_role_required

from ..exports import signatures_csv
from ..models import Block, DefenceOverride, WatchedName
from ..outbox import signatures_with_bounced_email
from ..selectors import letter_signature_count
from .defences import (
    LETTER_LIMITS,
    UNDER_ATTACK,
    UNDER_ATTACK_LIMITS,
    DefenceError,
    defence_block_add,
    defence_block_remove,
    defence_overrides,
    defence_set,
)
from .forms import BulkActionForm, InvalidationForm, QueueFilterForm, WatchedNameForm
from .selectors import (
    QueueFilter,
    preview_csv,
    queue_count,
    queue_newest,
    queue_page,
    signatures_preview,
    signing_spike,
)
from .services import (
    COMMENT_ACTIONS,
    ModerationError,
    audit_undo,
    invalidation_preview,
    invalidation_queryset,
    invalidation_start,
    signature_comments_set,
    signatures_moderate,
    signatures_moderate_matching,
    watched_name_add,
    watched_name_remove,
)

# A preview (or the exact count before acting) whose statements take longer than this is
# cancelled with a message to narrow the criteria, well before a web worker's own timeout.
PREVIEW_TIME_LIMIT_MS = 10_000


def _team_context(letter: Letter, role: str, section: str) -> dict[str, Any]:
    return {
        "letter": letter,
        "role": role,
        "section": section,
        "signature_count": letter_signature_count(letter),
    }


@never_cache
@require_GET
@letter_role_required(*ANY_ROLE)
def moderation_queue_view(request: HttpRequest, letter: Letter, role: str) -> HttpResponse:
    form = QueueFilterForm(request.GET)
    if not form.is_valid():
        context = _team_context(letter, role, "queue") | {"form": form, "rows": []}
        return render(request, "petition/moderation/queue.html", context, status=400)
    state = form.cleaned_data["state"]
    search = form.cleaned_data["q"]
    before = form.cleaned_data["before"]
    queue_filter = QueueFilter(state=state, search=search)
    page = queue_page(letter=letter, queue_filter=queue_filter, before=before)
    rows, next_cursor = page.rows, page.next_cursor
    # "All matching" covers the signatures up to the newest the filter shows now; one page
    # that holds them all needs no count.
    if before is None and next_cursor is None:
        matching, more, newest = len(rows), False, (rows[0].pk if rows else None)
    else:
        newest = (
            rows[0].pk if before is None else queue_newest(letter=letter, queue_filter=queue_filter)
        )
        matching, more = queue_count(letter=letter, queue_filter=queue_filter, up_to=newest)
    filters = {"state": state, "q": search}
    next_url = (
        f"?{urlencode(filters | {'before': next_cursor})}" if next_cursor is not None else None
    )
    spike = signing_spike(letter)
    context = _team_context(letter, role, "queue") | {
        "spike": spike if spike and not defence_overrides(letter.pk).get(UNDER_ATTACK) else None,
        "form": form,
        "rows": rows,
        "page_ids": ",".join(str(row.pk) for row in rows),
        "bounced_ids": signatures_with_bounced_email(rows),
        "matching": matching,
        "matching_more": more,
        "matching_up_to": newest,
        "search": search,
        "collects": set(letter.signer_fields),
        "state": state,
        "states": QueueFilterForm.STATE_LABELS,
        "filters_query": urlencode(filters),
        "next_url": next_url,
        "is_first_page": form.cleaned_data["before"] is None,
        "current_url": request.get_full_path(),
    }
    return render(request, "petition/moderation/queue.html", context)


@require_POST
@letter_role_required(*ANY_ROLE)
def moderation_bulk_view(request: HttpRequest, letter: Letter, role: str) -> HttpResponse:
    form = BulkActionForm(request.POST)
    back = reverse("moderation_queue", kwargs={"slug": letter.slug})
    next_url = request.POST.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = next_url
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return HttpResponseRedirect(back)
    data = form.cleaned_data
    queue_filter = QueueFilter(state=data["state"], search=data["q"])
    if data["scope"] == "matching" and data["more"] and not data["confirm"]:
        # The queue said "more than": count them exactly, once, and ask again.
        return _matching_confirm(request, letter, role, data, queue_filter, back)
    try:
        if data["scope"] == "matching":
            entry = signatures_moderate_matching(
                letter=letter,
                actor=request.user,
                action=data["action"],
                queue_filter=queue_filter,
                expected=data["expected"],
                up_to=data["up_to"],
                note=data["note"],
            )
        elif data["action"] in COMMENT_ACTIONS:
            entry = signature_comments_set(
                letter=letter,
                actor=request.user,
                action=data["action"],
                signature_ids=data["signature_ids"],
                note=data["note"],
            )
        else:
            entry = signatures_moderate(
                letter=letter,
                actor=request.user,
                action=data["action"],
                signature_ids=data["signature_ids"],
                note=data["note"],
            )
    except ModerationError as error:
        messages.error(request, str(error))
        return HttpResponseRedirect(back)
    if entry.state == AuditEntry.State.RUNNING:
        messages.success(
            request, _("Started: %(action)s.") % {"action": entry.get_action_display()}
        )
        return redirect("moderation_entry", slug=letter.slug, entry_id=entry.pk)
    messages.success(
        request,
        ngettext(
            "%(action)s: %(n)d signature changed.",
            "%(action)s: %(n)d signatures changed.",
            entry.signature_count,
        )
        % {"action": entry.get_action_display(), "n": entry.signature_count},
    )
    return HttpResponseRedirect(back)


def _matching_confirm(
    request: HttpRequest,
    letter: Letter,
    role: str,
    data: dict[str, Any],
    queue_filter: QueueFilter,
    back: str,
) -> HttpResponse:
    """The page that says exactly how many signatures an action on all a filter shows will
    change, before it starts."""
    up_to = data["up_to"] or queue_newest(letter=letter, queue_filter=queue_filter)
    matching, _more = queue_count(letter=letter, queue_filter=queue_filter, up_to=up_to, exact=True)
    if not matching:
        messages.error(request, _("No signature matches this filter; nothing to do."))
        return HttpResponseRedirect(back)
    context = _team_context(letter, role, "queue") | {
        "action": data["action"],
        "matching": matching,
        "up_to": up_to,
        "state": queue_filter.state,
        "state_label": QueueFilterForm.STATE_LABELS[queue_filter.state],
        "search": queue_filter.search,
        "note": data["note"],
        "back": back,
    }
    return render(request, "petition/moderation/confirm.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
@letter_role_required(*ANY_ROLE)
def invalidation_view(request: HttpRequest, letter: Letter, role: str) -> HttpResponse:
    """GET: the criteria form. POST with "preview": the count. POST with "confirm": start
    the job for the count the moderator saw."""
    context = _team_context(letter, role, "invalidate")
    if request.method == "GET":
        context["form"] = InvalidationForm()
        return render(request, "petition/moderation/invalidate.html", context)
    form = InvalidationForm(request.POST)
    context["form"] = form
    if not form.is_valid():
        return render(request, "petition/moderation/invalidate.html", context, status=400)
    criteria = form.cleaned_data["criteria"]
    up_to = form.cleaned_data.get("up_to")
    confirming = "confirm" in request.POST and form.cleaned_data.get("expected") is not None
    if confirming and not form.cleaned_data.get("more"):
        try:
            entry = invalidation_start(
                letter=letter,
                actor=request.user,
                criteria=criteria,
                expected=form.cleaned_data["expected"],
                up_to=up_to,
            )
        except ModerationError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("The invalidation has started."))
            return redirect("moderation_entry", slug=letter.slug, entry_id=entry.pk)
    try:
        with time_limited(PREVIEW_TIME_LIMIT_MS):
            preview = signatures_preview(
                invalidation_queryset(letter=letter, criteria=criteria), letter=letter
            )
            if confirming and form.cleaned_data.get("more"):
                # The preview said "more than": count them exactly, once, and ask again.
                context["preview"] = invalidation_preview(
                    letter=letter, criteria=criteria, up_to=up_to or preview.newest, exact=True
                )
    except DatabaseError as error:
        if not timed_out(error):
            raise
        form.add_error(
            None,
            _(
                "These criteria take too long to check on a letter this large. Narrow them: "
                "add an email domain, an address range or a time window, or put three or "
                "more letters in a row in the name pattern."
            ),
        )
        return render(request, "petition/moderation/invalidate.html", context, status=400)
    if "preview" not in context:
        context["preview"] = {
            "matching": preview.matching,
            "counting": preview.counting,
            "more": preview.more,
            "up_to": preview.newest,
        }
    context["preview_rows"] = preview.rows
    context["breakdown"] = preview.breakdown
    context["newest_sample"] = preview.newest_sample
    context["csv_query"] = urlencode(criteria.to_json())
    return render(request, "petition/moderation/invalidate.html", context)


@require_GET
@letter_role_required(*ANY_ROLE)
def invalidation_csv_view(
    request: HttpRequest, letter: Letter, role: str
) -> HttpResponse | StreamingHttpResponse:
    """Every signature the criteria in the query string would take, as CSV."""
    form = InvalidationForm(request.GET)
    if not form.is_valid():
        problems = [str(error) for errors in form.errors.values() for error in errors]
        return HttpResponseBadRequest("\n".join(problems), content_type="text/plain; charset=utf-8")
    signatures = invalidation_queryset(letter=letter, criteria=form.cleaned_data["criteria"])
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(
        preview_csv(signatures), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{letter.slug}-matching-{stamp}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


@never_cache
@require_GET
@letter_role_required(*ANY_ROLE)
def audit_log_view(request: HttpRequest, letter: Letter, role: str) -> HttpResponse:
    try:
        before = optional_int(request.GET, "before", minimum=1)
    except BadParameter as error:
        return HttpResponseBadRequest(str(error), content_type="text/plain; charset=utf-8")
    entries = AuditEntry.objects.filter(letter=letter).select_related("actor", "undone_by")
    if before is not None:
        entries = entries.filter(pk__lt=before)
    page = list(entries.order_by("-pk")[:51])
    running = (AuditEntry.State.RUNNING, AuditEntry.State.UNDOING)
    context = _team_context(letter, role, "log") | {
        "entries": page[:50],
        "next_before": page[49].pk if len(page) > 50 else None,
        # A running bulk job shows its progress here too, and the page follows it.
        "in_progress": any(entry.state in running for entry in page[:50]),
    }
    return render(request, "petition/moderation/log.html", context)


@never_cache
@require_GET
@letter_role_required(*ANY_ROLE)
def audit_entry_view(
    request: HttpRequest, letter: Letter, role: str, entry_id: int
) -> HttpResponse:
    entry = get_object_or_404(
        AuditEntry.objects.select_related("actor", "undone_by"), letter=letter, pk=entry_id
    )
    context = _team_context(letter, role, "log") | {
        "entry": entry,
        "in_progress": entry.state in (AuditEntry.State.RUNNING, AuditEntry.State.UNDOING),
    }
    return render(request, "petition/moderation/entry.html", context)


@require_POST
@letter_role_required(*ANY_ROLE)
def audit_undo_view(request: HttpRequest, letter: Letter, role: str, entry_id: int) -> HttpResponse:
    entry = get_object_or_404(AuditEntry, letter=letter, pk=entry_id)
    try:
        entry = audit_undo(entry=entry, actor=request.user)
    except ModerationError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("Undoing: %(action)s.") % {"action": entry.get_action_display()}
        )
    return redirect("moderation_entry", slug=letter.slug, entry_id=entry.pk)


@never_cache
@require_http_methods(["GET", "POST"])
@letter_role_required(*ANY_ROLE)
def watch_list_view(request: HttpRequest, letter: Letter, role: str) -> HttpResponse:
    form = WatchedNameForm(request.POST or None)
    status = 200
    if request.method == "POST":
        try:
            if "remove" in request.POST:
                try:
                    watched_id = parse_int(request.POST.get("remove", ""), name="remove")
                except BadParameter:
                    raise ModerationError(
                        _("That name is not on this letter's watch list.")
                    ) from None
                watched_name_remove(letter=letter, actor=request.user, watched_id=watched_id)
                messages.success(request, _("Removed from the watch list."))
                return redirect("moderation_watch", slug=letter.slug)
            if form.is_valid():
                watched_name_add(letter=letter, actor=request.user, name=form.cleaned_data["name"])
                messages.success(request, _("Added to the watch list."))
                return redirect("moderation_watch", slug=letter.slug)
        except ModerationError as error:
            form.add_error(None, str(error))
        status = 400
    context = _team_context(letter, role, "watch") | {
        "form": form,
        "watched": WatchedName.objects.filter(letter=letter),
    }
    return render(request, "petition/moderation/watch.html", context, status=status)


@require_GET
@letter_role_required(OWNER)
def export_csv_view(request: HttpRequest, letter: Letter, role: str) -> StreamingHttpResponse:
    """Every counted signature, for the letter's owners, streamed. Without email addresses:
    signers gave them to confirm their signature, not to be contacted."""
    with transaction.atomic():
        audit_record(letter=letter, actor=request.user, action=AuditEntry.Action.EXPORT)
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(signatures_csv(letter), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{letter.slug}-{stamp}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


def _defences_context(letter: Letter, user: Any) -> dict[str, Any]:
    overrides = defence_overrides(letter.pk)
    own = dict(DefenceOverride.objects.filter(letter=letter).values_list("name", "value"))
    site = dict(DefenceOverride.objects.filter(letter__isnull=True).values_list("name", "value"))
    defaults = settings.PETITION_RATE_LIMITS
    letter_limits = [
        {
            "name": name,
            "default": site.get(name, defaults.get(name, "")),
            "own": own.get(name, ""),
            "effective": overrides.get(name, defaults.get(name, "")),
        }
        for name in LETTER_LIMITS
    ]
    context: dict[str, Any] = {
        "under_attack": overrides.get(UNDER_ATTACK) == "on",
        "attack_own": own.get(UNDER_ATTACK) == "on",
        "attack_site": site.get(UNDER_ATTACK) == "on",
        "attack_limits": UNDER_ATTACK_LIMITS,
        "letter_limits": letter_limits,
        "letter_blocks": Block.objects.filter(letter=letter).order_by("kind", "value"),
        "block_kinds": Block.Kind.choices,
        "is_staff": user.is_staff,
    }
    if user.is_staff:
        context["site_limits"] = [
            {"name": name, "default": default, "own": site.get(name, "")}
            for name, default in sorted(defaults.items())
        ]
        context["site_blocks"] = Block.objects.filter(letter__isnull=True).order_by("kind", "value")
    return context


@never_cache
@require_http_methods(["GET", "POST"])
@letter_role_required(OWNER)
def defences_view(request: HttpRequest, letter: Letter, role: str) -> HttpResponse:
    """Rate limits, blocks and the under-attack mode of this letter (and, for site staff,
    of the whole site), changed from the site and in effect within seconds."""
    status = 200
    if request.method == "POST":
        op = request.POST.get("op", "")
        site_wide = request.POST.get("site") == "1"
        try:
            if op == "attack":
                changed = defence_set(
                    letter=letter,
                    actor=request.user,
                    name=UNDER_ATTACK,
                    value=request.POST.get("value", ""),
                    site_wide=site_wide,
                )
                on = request.POST.get("value") == "on"
                if changed:
                    messages.success(
                        request,
                        _("Under-attack mode is on.") if on else _("Under-attack mode is off."),
                    )
            elif op == "limit":
                defence_set(
                    letter=letter,
                    actor=request.user,
                    name=request.POST.get("name", ""),
                    value=request.POST.get("value", "")[:40],
                    site_wide=site_wide,
                )
                messages.success(request, _("Saved. The new limit applies within seconds."))
            elif op == "block_add":
                defence_block_add(
                    letter=letter,
                    actor=request.user,
                    kind=request.POST.get("kind", ""),
                    value=request.POST.get("value", "")[:255],
                    note=request.POST.get("note", ""),
                    site_wide=site_wide,
                )
                messages.success(request, _("Blocked."))
            elif op == "block_remove":
                try:
                    block_id = parse_int(request.POST.get("block", ""), name="block")
                except BadParameter:
                    raise DefenceError(_("That block is not there (any more).")) from None
                defence_block_remove(letter=letter, actor=request.user, block_id=block_id)
                messages.success(request, _("Block lifted."))
            else:
                raise DefenceError(_("Unknown change."))
        except DefenceError as error:
            messages.error(request, str(error))
            status = 400
        else:
            return redirect("moderation_defences", slug=letter.slug)
    context = _team_context(letter, role, "defences") | _defences_context(letter, request.user)
    return render(request, "petition/moderation/defences.html", context, status=status)
