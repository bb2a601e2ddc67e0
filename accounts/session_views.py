"""Account > Sessions: the signed-in person's own sessions (accounts.sessions), each with a "Sign out", and "Sign out
all other sessions". Writes go through accounts.sessions, as the API's (auth/sessions)."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts import sessions
from accounts.settings_views.common import not_found
from accounts.web import member_required
from whatsapp_hub.errors import ServiceError


@member_required
def session_list(request):
    current_id = request.session.get(sessions.BROWSER_SESSION_KEY)
    rows = [
        {
            "session": session,
            "device": sessions.device_label(session.user_agent),
            "parts": sessions.device_parts(session.user_agent),
            "current": session.pk == current_id,
        }
        for session in sessions.user_sessions_open(user=request.user)
    ]
    rows.sort(key=lambda row: not row["current"])  # this browser first
    others = sum(1 for row in rows if not row["current"])
    return render(request, "accounts/sessions.html", {"rows": rows, "others": others})


@require_POST
@member_required
def session_sign_out(request, session_id: int):
    """Sign one session out (this browser's own too: the next page is then the sign-in page)."""
    try:
        sessions.user_session_revoke(user=request.user, session_id=session_id)
    except ServiceError:
        return not_found(request)
    messages.success(request, _("The session is signed out."))
    return redirect("account-sessions")


@require_POST
@member_required
def session_sign_out_others(request):
    count = sessions.user_sessions_revoke_others(
        user=request.user, current_id=request.session.get(sessions.BROWSER_SESSION_KEY)
    )
    messages.success(
        request,
        ngettext("%(count)d other session is signed out.", "%(count)d other sessions are signed out.", count)
        % {"count": count},
    )
    return redirect("account-sessions")


urlpatterns = [
    path("account/sessions/", session_list, name="account-sessions"),
    path("account/sessions/<id:session_id>/sign-out/", session_sign_out, name="account-session-sign-out"),
    path("account/sessions/sign-out-others/", session_sign_out_others, name="account-sessions-sign-out-others"),
]
