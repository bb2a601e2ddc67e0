"""Settings > Invitations: the access list. Inviting (the service e-mails the link and enforces the plan's seats),
pending and past invitations, revoking a pending one."""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _

from accounts import selectors, services
from accounts.forms import InvitationForm
from accounts.models import Invitation
from accounts.settings_views.common import not_found, page_of
from accounts.web import admin_required
from whatsapp_hub.errors import ServiceError
from whatsapp_hub.forms import show_service_error


@admin_required
def invitations(request):
    """The access list, and the invitation form (POST)."""
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = services.invitation_create(
                organization=request.org, invited_by=request.user, **form.cleaned_data
            )
        except ServiceError as refused:
            show_service_error(form, refused)
        else:
            messages.success(
                request,
                _("Invitation e-mailed to %(email)s. Its link works for %(days)d days.")
                % {"email": invitation.email, "days": settings.INVITATION_TTL.days},
            )
            return redirect("settings-invitations")
    context = {
        "section": "invitations",
        "form": form,
        "invitations": page_of(request, selectors.access_list(org=request.org)),
        "seats_used": selectors.seats_used(org=request.org),
        "seat_limit": request.org.user_limit,
    }
    return render(request, "accounts/settings/invitations.html", context)


@admin_required
def invitation_revoke(request, invitation_id: int):
    """A confirmation page (GET), then the revocation (POST). Only a pending invitation can be revoked: the service
    revokes the pending invitation of its e-mail, which must be this one."""
    invitation = selectors.access_list(org=request.org).filter(pk=invitation_id).first()
    if invitation is None:
        return not_found(request)
    is_pending = invitation.status == Invitation.Status.PENDING
    if request.method == "POST" and is_pending:
        try:
            services.invitation_revoke(organization=request.org, email=invitation.email, actor=request.user)
        except ServiceError:  # the only refusal: no pending invitation for the e-mail any more
            messages.error(request, _("This invitation was accepted or revoked meanwhile: nothing to revoke."))
        else:
            messages.success(request, _("The invitation of %(email)s is revoked.") % {"email": invitation.email})
        return redirect("settings-invitations")
    context = {"section": "invitations", "invitation": invitation, "is_pending": is_pending}
    return render(request, "accounts/settings/invitation_revoke.html", context)


urlpatterns = [
    path("settings/invitations/", invitations, name="settings-invitations"),
    path("settings/invitations/<id:invitation_id>/revoke/", invitation_revoke, name="settings-invitation-revoke"),
]
