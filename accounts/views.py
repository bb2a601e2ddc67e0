"""The web app's account pages: sign-in and sign-out, the organization switcher, the language."""

from django.contrib import messages
from django.contrib.auth import login, logout
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from accounts import selectors, services
from accounts.forms import SignInForm
from whatsapp_hub import demo
from whatsapp_hub.errors import ServiceError


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if allowed else fallback


def home(request):
    return redirect("inbox" if request.user.is_authenticated else "sign-in")


def sign_in(request):
    form = SignInForm(request.POST or None)
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            user, membership = services.auth_authenticate(request=request, **form.cleaned_data)
        except ServiceError as refused:
            error = refused.detail
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            if membership is not None:
                request.session[selectors.SESSION_ORGANIZATION_KEY] = membership.organization_id
            return redirect(_safe_next(request, "/inbox/"))
    context = {"form": form, "error": error, "next": _safe_next(request, ""), "demo_credentials": demo.sign_in_hint()}
    return render(request, "accounts/sign_in.html", context)


@require_POST
def sign_out(request):
    logout(request)
    return redirect("sign-in")


@require_POST
def organization_switch(request):
    """The organization switcher: the session acts in another organization of the person's."""
    if not request.user.is_authenticated:
        return redirect("sign-in")
    try:
        membership = selectors.membership_for(user=request.user, organization_id=int(request.POST["organization_id"]))
    except (KeyError, ValueError):
        membership = None
    problem = selectors.membership_problem(membership)
    if problem:
        messages.error(request, problem)
        return redirect("home")
    request.session[selectors.SESSION_ORGANIZATION_KEY] = membership.organization_id
    messages.success(request, _("You are now working in %(org)s.") % {"org": membership.organization.name})
    return redirect("home")


@require_POST
def language(request):
    """Saves the person's language (when signed in), then Django's set_language sets the cookie and redirects."""
    if request.user.is_authenticated:
        try:
            services.user_set_language(user=request.user, language=request.POST.get("language", ""))
        except ServiceError as refused:
            messages.error(request, refused.detail)
            return redirect(_safe_next(request, "/"))
    return set_language(request)
