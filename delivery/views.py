"""The owners' delivery page: request a PDF of the letter, watch it being built, download it."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from core.params import BadParameter, optional_int
from letters.models import Letter
from letters.permissions import letter_role_required

from .models import DeliveryDocument
from .services import delivery_document_request, document_file

SHOWN = 5


@require_http_methods(["GET", "HEAD", "POST"])
@letter_role_required("owner")
def delivery(request: HttpRequest, *, letter: Letter, role: str) -> HttpResponse:
    if request.method == "POST":
        try:
            delivery_document_request(letter=letter, user=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request, _("The PDF is being prepared. This page shows how far it got.")
            )
        return redirect("delivery", slug=letter.slug)
    documents = list(DeliveryDocument.objects.filter(letter=letter)[:SHOWN])
    return render(
        request,
        "delivery/delivery.html",
        {
            "letter": letter,
            "role": role,
            "section": "delivery",
            "documents": documents,
            "in_progress": any(document.in_progress for document in documents),
        },
    )


@require_GET
@letter_role_required("owner")
def delivery_download(request: HttpRequest, *, letter: Letter, role: str) -> HttpResponseBase:
    """The PDF named by ?document=, or the newest finished one; the owners' page with a
    message when there is none."""
    finished = DeliveryDocument.objects.filter(letter=letter, state=DeliveryDocument.State.DONE)
    try:
        wanted = optional_int(request.GET, "document", minimum=1)
    except BadParameter:
        return HttpResponseBadRequest(
            _("The document number must be a whole number."),
            content_type="text/plain; charset=utf-8",
        )
    if wanted is not None:
        finished = finished.filter(pk=wanted)
    document = finished.first()
    if document is None:
        messages.error(request, _("There is no finished PDF to download; prepare one first."))
        return redirect("delivery", slug=letter.slug)
    path = document_file(document)
    if not path.is_file():
        raise Http404(_("The file of this PDF is gone; prepare a new one."))
    response = FileResponse(
        open(path, "rb"),  # noqa: SIM115 (FileResponse closes it)
        as_attachment=True,
        filename=f"{letter.slug}-{document.created_at:%Y-%m-%d}.pdf",
        content_type="application/pdf",
    )
    response["Cache-Control"] = "private, no-store"
    return response
