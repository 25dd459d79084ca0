"""Template filters and tags for the moderation pages."""

import html as html_text

from django import template
from django.template.loader import get_template
from django.utils.dateformat import format as format_date
from django.utils.formats import get_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django_countries import countries

from ..models import Signature

register = template.Library()


@register.filter
def mask_email(email: str) -> str:
    """Enough of an address to tell signers apart and judge the domain, not to contact them."""
    local, _at, domain = email.rpartition("@")
    return f"{local[:1]}•••@{domain}"


@register.simple_tag(takes_context=True)
def queue_rows(context: template.Context) -> SafeString:
    """The queue's table rows, one per signature of the page.

    Written in Python, not as a loop in the template: a row holds some fifty values, and
    fifty rows of them through the template engine were most of the page's time on a
    letter of a million signatures. The markup is the template's, value for value."""
    rows: list[Signature] = context["rows"]
    bounced: set[int] = set(context.get("bounced_ids") or ())
    letter = context["letter"]
    # Every word the rows repeat, translated and escaped once for the page.
    labels = {
        "approve": _("Approve"),
        "hide": _("Hide"),
        "reject": _("Reject"),
        "show_comment": _("Show comment"),
        "hide_comment": _("Hide comment"),
        "name_private": _("name private"),
        "comment_hidden": _("comment hidden by a moderator"),
        "comment_private": _("comment private"),
        "shadow": _("Shadow-banned:"),
        "bounced": _("email bounced"),
        "awaiting": _("Awaiting approval"),
    }
    labels = {key: escape(label) for key, label in labels.items()}
    status_labels = {value: escape(label) for value, label in Signature.Status.choices}
    moderation_labels = {value: escape(label) for value, label in Signature.Moderation.choices}
    signed_format = get_format("SHORT_DATETIME_FORMAT")
    affiliation = None
    html = []
    for s in rows:
        pk = str(s.pk)
        name = escape(s.name)
        hidden_name = f'<span class="visually-hidden"> {name}</span>'
        classes = ("flagged" if s.flags else "") + (" shadow" if s.shadow_reason else "")
        cell = [f'<label for="sig-{pk}" class="name"><bdi>{name}</bdi></label>']
        if s.title or s.organization:
            parts = (f"<bdi>{escape(part)}</bdi>" for part in (s.title, s.organization) if part)
            cell.append(f'<span class="affiliation">{", ".join(parts)}</span>')
            if affiliation is None:
                affiliation = get_template("petition/affiliation/_moderation_cell.html")
            cell.append(affiliation.render({"s": s}))
        if s.city or s.country:
            place = [f"<bdi>{escape(s.city)}</bdi>"] if s.city else []
            place += [escape(countries.name(s.country))] if s.country else []
            cell.append(f'<span class="place">{", ".join(place)}</span>')
        if s.comment:
            if s.comment_hidden:
                footer = (
                    f'<span class="tag">{labels["comment_hidden"]}</span> '
                    f'<button type="submit" form="row-{pk}" name="action" value="show_comment" '
                    f'class="link-button">{labels["show_comment"]}{hidden_name}</button>'
                )
            else:
                private = (
                    f'<span class="tag">{labels["comment_private"]}</span> '
                    if not s.show_comment
                    else ""
                )
                footer = (
                    f'{private}<button type="submit" form="row-{pk}" name="action" '
                    f'value="hide_comment" class="link-button">{labels["hide_comment"]}'
                    f"{hidden_name}</button>"
                )
            cell.append(
                f'<blockquote class="comment{" comment-hidden" if s.comment_hidden else ""}">'
                f"<bdi>{escape(Truncator(s.comment).chars(400))}</bdi>"
                f"<footer>{footer}</footer></blockquote>"
            )
        if not s.show_name:
            cell.append(f'<span class="tag">{labels["name_private"]}</span>')
        for label in s.flag_labels if s.flags else ():
            cell.append(f'<span class="tag flag">⚑ {escape(label)}</span>')
        if s.shadow_reason:
            cell.append(
                f'<span class="tag shadow">{labels["shadow"]} '
                f"{escape(s.get_shadow_reason_display())}</span>"
            )
        if s.pk in bounced:
            cell.append(f'<span class="tag flag">{labels["bounced"]}</span>')
        state = status_labels.get(s.status) or escape(s.status)
        if s.moderation:
            state += (
                f'<br><strong class="state-{escape(s.moderation)}">'
                f"{moderation_labels.get(s.moderation) or escape(s.moderation)}</strong>"
            )
        elif letter.premoderate and s.status == Signature.Status.VERIFIED:
            state += f'<br><span class="muted">{labels["awaiting"]}</span>'
        signed = format_date(localtime(s.created_at), signed_format)
        buttons = "".join(
            f'<button type="submit" form="row-{pk}" name="action" value="{action}" '
            f'class="link-button{extra}" data-key="{key}">{labels[action]}{hidden_name}'
            "</button>"
            for action, key, extra in (
                ("approve", "a", ""),
                ("hide", "h", ""),
                ("reject", "r", " danger"),
            )
        )
        html.append(
            f'<tr class="{classes}" data-signature="{pk}">'
            f'<td><input type="checkbox" name="signature" value="{pk}" id="sig-{pk}"></td>'
            f"<td>{' '.join(cell)}</td>"
            f'<td><span class="mono">{escape(mask_email(s.email))}</span></td>'
            f"<td>{state}</td>"
            f'<td><time datetime="{s.created_at.isoformat()}">{escape(signed)}</time></td>'
            f'<td class="mono">{escape(s.ip_address or "—")}</td>'
            f'<td class="row-actions">{buttons}</td></tr>\n'
        )
    return mark_safe("".join(html))  # noqa: S308 (every value above is escaped)


def escape(value: object) -> str:
    """What django.utils.html.escape gives, without its wrapper for lazy strings, which
    cost more than the escaping at a few hundred values a page."""
    return html_text.escape(str(value))
