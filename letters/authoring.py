"""Writing and running a letter in the browser: the dashboard, drafting and editing with a
preview, publishing, closing, reopening, the team and its invitations.

Views stay thin: forms validate, services in letters/services.py write and audit, and
`letter_role_required` decides who may see each letter's pages.
"""

from collections.abc import Callable

from allauth.account.adapter import get_adapter as get_account_adapter
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.http import link_error

from .forms import InvitationForm, LetterForm, signatories_from, signatory_formset
from .markdown import markdown_problem, render_markdown
from .models import Invitation, Letter, LetterRole
from .permissions import ANY_ROLE, OWNER, letter_role_required, mfa_setup_redirect
from .services import (
    BODY_MAX_LENGTH,
    InvitationLinkError,
    emails_match,
    invitation_accept,
    invitation_create,
    invitation_from_token,
    invitation_revoke,
    letter_approve,
    letter_close,
    letter_create,
    letter_publish,
    letter_reopen,
    letter_update,
    role_remove,
)
from .version_forms import VersionNoteForm, version_saved_message


def _messages_of(error: ValidationError) -> str:
    return " ".join(str(message) for message in error.messages)


def _refused(request: HttpRequest, letter: Letter | None, message: str, status: int = 400):
    return render(
        request,
        "letters/author/refused.html",
        {"letter": letter, "message": message},
        status=status,
    )


@login_required
@require_POST
def markdown_preview(request: HttpRequest) -> HttpResponse:
    """The sanitized HTML of some Markdown, for the editor's live preview."""
    body = request.POST.get("body", "")
    if len(body) > BODY_MAX_LENGTH:
        return HttpResponse(_("The text is too long to preview."), status=413)
    if problem := markdown_problem(body):
        return HttpResponse(problem, status=422, content_type="text/plain; charset=utf-8")
    return HttpResponse(render_markdown(body), content_type="text/html; charset=utf-8")


@login_required
def letter_new(request: HttpRequest) -> HttpResponse:
    """Start a draft; whoever creates it becomes its first owner (so, where the site
    requires MFA for letter teams, sets up MFA first)."""
    if response := mfa_setup_redirect(request):
        return response
    form = LetterForm(request.POST or None, initial={"language": request.LANGUAGE_CODE})
    formset = signatory_formset(request.POST or None)
    preview = None
    status = 200
    if request.method == "POST":
        if "preview" in request.POST:
            preview = render_markdown(request.POST.get("body", "")[:BODY_MAX_LENGTH])
        elif form.is_valid() and formset.is_valid():
            try:
                letter = letter_create(
                    user=request.user, data=form.to_data(signatories_from(formset))
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("Draft saved. Only its team can see it."))
                return redirect("letter_edit", slug=letter.slug)
        status = 200 if preview is not None else 400
    return render(
        request,
        "letters/author/edit.html",
        {"form": form, "formset": formset, "preview": preview, "letter": None},
        status=status,
    )


@letter_role_required(OWNER)
def letter_edit(request: HttpRequest, *, letter: Letter, role: str) -> HttpResponse:
    """Edit every part of the letter; "Preview" shows the sanitized text without saving."""
    if request.method == "POST":
        form = LetterForm(request.POST, letter=letter)
        formset = signatory_formset(request.POST, letter=letter)
    else:
        form = LetterForm(initial=LetterForm.initial_for(letter), letter=letter)
        formset = signatory_formset(letter=letter)
    version_form = VersionNoteForm(request.POST or None, prefix="version")
    preview = None
    status = 200
    if request.method == "POST":
        if "preview" in request.POST:
            preview = render_markdown(request.POST.get("body", "")[:BODY_MAX_LENGTH])
        elif form.is_valid() and formset.is_valid() and version_form.is_valid():
            version_before, status_before = letter.version, letter.status
            try:
                letter = letter_update(
                    letter=letter,
                    user=request.user,
                    data=form.to_data(signatories_from(formset)),
                    **version_form.cleaned_data,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("Changes saved."))
                if letter.status == Letter.Status.REVIEW and status_before != letter.status:
                    messages.info(
                        request,
                        _(
                            "The new text awaits approval by site staff: until they approve "
                            "it, the letter is off the public site and takes no signatures."
                        ),
                    )
                if letter.version != version_before:
                    messages.info(request, version_saved_message(letter))
                return redirect("letter_edit", slug=letter.slug)
        status = 200 if preview is not None else 400
    return render(
        request,
        "letters/author/edit.html",
        {
            "form": form,
            "formset": formset,
            "preview": preview,
            "letter": letter,
            "role": role,
            "section": "edit",
            "version_form": version_form,
            "require_approval": settings.LETTERS_REQUIRE_APPROVAL and not request.user.is_staff,
        },
        status=status,
    )


def _status_action(
    service: Callable[..., Letter], success: str | Callable[[Letter], str]
) -> Callable[..., HttpResponseBase]:
    @letter_role_required(OWNER)
    @require_POST
    def view(request: HttpRequest, *, letter: Letter, role: str) -> HttpResponse:
        try:
            letter = service(letter=letter, user=request.user)
        except ValidationError as error:
            return _refused(request, letter, _messages_of(error))
        messages.success(request, success if isinstance(success, str) else success(letter))
        return redirect("letter_edit", slug=letter.slug)

    return view


def _published_message(letter: Letter) -> str:
    if letter.status == Letter.Status.REVIEW:
        return _(
            "Submitted for approval. Site staff will review the letter; it goes public once "
            "they approve it."
        )
    return _("Published. The letter is public and takes signatures.")


letter_publish_view = _status_action(letter_publish, _published_message)
# Messages are translated per request, in the reader's language, not once at import.
letter_close_view = _status_action(
    letter_close, lambda letter: _("Closed. The letter takes no more signatures.")
)
letter_reopen_view = _status_action(
    letter_reopen, lambda letter: _("Reopened. The letter takes signatures again.")
)


def _team_context(letter: Letter, role: str, form: InvitationForm | None = None) -> dict:
    return {
        "letter": letter,
        "role": role,
        "section": "team",
        "members": list(
            LetterRole.objects.filter(letter=letter).select_related("user").order_by("role", "id")
        ),
        "invitations": list(Invitation.objects.open().filter(letter=letter).order_by("created_at")),
        "form": form or InvitationForm(),
        "invitation_days": settings.INVITATION_MAX_AGE_DAYS,
    }


@letter_role_required(*ANY_ROLE)
def team(request: HttpRequest, *, letter: Letter, role: str) -> HttpResponse:
    """Who is on the letter's team; owners also invite, withdraw invitations and remove."""
    return render(request, "letters/author/team.html", _team_context(letter, role))


@letter_role_required(OWNER)
@require_POST
def team_invite(request: HttpRequest, *, letter: Letter, role: str) -> HttpResponse:
    form = InvitationForm(request.POST)
    if form.is_valid():
        try:
            invitation = invitation_create(
                letter=letter,
                invited_by=request.user,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("Invitation sent to %(email)s. The link works for %(days)s days.")
                % {"email": invitation.email, "days": settings.INVITATION_MAX_AGE_DAYS},
            )
            return redirect("letter_team", slug=letter.slug)
    return render(
        request, "letters/author/team.html", _team_context(letter, role, form), status=400
    )


@letter_role_required(OWNER)
@require_POST
def team_invitation_revoke(
    request: HttpRequest, *, letter: Letter, role: str, invitation_id: int
) -> HttpResponse:
    # Scoped to this letter: another letter's invitation id is simply not found.
    invitation = get_object_or_404(Invitation, pk=invitation_id, letter=letter)
    try:
        invitation_revoke(invitation=invitation, user=request.user)
    except ValidationError as error:
        return _refused(request, letter, _messages_of(error))
    messages.success(request, _("Invitation to %(email)s withdrawn.") % {"email": invitation.email})
    return redirect("letter_team", slug=letter.slug)


@letter_role_required(OWNER)
@require_POST
def team_member_remove(
    request: HttpRequest, *, letter: Letter, role: str, member_id: int
) -> HttpResponse:
    member = get_object_or_404(
        LetterRole.objects.select_related("user"), pk=member_id, letter=letter
    )
    try:
        role_remove(member=member, user=request.user)
    except ValidationError as error:
        return _refused(request, letter, _messages_of(error))
    messages.success(
        request, _("%(email)s is no longer on the team.") % {"email": member.user.email}
    )
    if member.user_id == request.user.pk:
        return redirect("dashboard")
    return redirect("letter_team", slug=letter.slug)


def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    """GET: what the invitation offers. POST: accept it, signed in with the invited address."""
    try:
        invitation = invitation_from_token(token)
    except InvitationLinkError as error:
        return link_error(request, purpose="invitation", message=error.message, status=error.status)
    user = request.user
    context = {
        "invitation": invitation,
        "letter": invitation.letter,
        "matches": user.is_authenticated and emails_match(user.email, invitation.email_normalized),
    }
    if request.method == "POST":
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not context["matches"]:
            return render(
                request, "letters/author/invitation_wrong_account.html", context, status=403
            )
        try:
            with transaction.atomic():
                member = invitation_accept(invitation=invitation, user=user)
        except PermissionDenied:
            return render(
                request, "letters/author/invitation_wrong_account.html", context, status=403
            )
        except ValidationError as error:
            return link_error(
                request, purpose="invitation", message=_messages_of(error), status=410
            )
        messages.success(
            request,
            _("You are now %(role)s of “%(title)s”.")
            % {"role": member.role_in_sentence, "title": invitation.letter.title},
        )
        if member.role == LetterRole.Role.OWNER:
            return redirect("letter_edit", slug=invitation.letter.slug)
        return redirect("dashboard")
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    if not user.is_authenticated:
        # Following the emailed link proves the address: sign-up opens for it (even when the
        # site takes no public sign-ups) and allauth asks for no second confirmation.
        get_account_adapter(request).stash_verified_email(request, invitation.email)
    return render(request, "letters/author/invitation.html", context)


@staff_member_required
def staff_letters(request: HttpRequest) -> HttpResponse:
    """Letters waiting for site staff before they go public."""
    if response := mfa_setup_redirect(request):
        return response
    letters = Letter.objects.filter(status=Letter.Status.REVIEW).order_by("updated_at")
    return render(request, "letters/author/staff_letters.html", {"letters": letters})


@staff_member_required
@require_POST
def staff_letter_approve(request: HttpRequest, slug: str) -> HttpResponse:
    if response := mfa_setup_redirect(request):
        return response
    letter = get_object_or_404(Letter, slug=slug)
    try:
        letter_approve(letter=letter, user=request.user)
    except (ValidationError, PermissionDenied) as error:
        message = _messages_of(error) if isinstance(error, ValidationError) else str(error)
        return _refused(request, letter, message)
    messages.success(request, _("“%(title)s” is now public.") % {"title": letter.title})
    return redirect(reverse("staff_letters"))
