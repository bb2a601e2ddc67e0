"""The web app's account pages: sign-in and sign-out, sign-up, password reset, invitations, creating another
organization, the organization switcher, the language. Every write goes through accounts.services, as the API's."""

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, login, logout
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from accounts import google, lockout, magic_links, selectors, services, sessions, two_factor
from accounts.forms import (
    InvitationSignInForm,
    InvitationSignUpForm,
    OrganizationCreateForm,
    PasswordForgotForm,
    PasswordResetForm,
    SecondStepForm,
    SignInForm,
    SignUpForm,
)
from accounts.models import Role
from accounts.web import organization_time_zone
from whatsapp_hub import demo
from whatsapp_hub.errors import ServiceError
from whatsapp_hub.throttling import AuthRateThrottle

# Where a person lands once signed in (the inbox page's path: messaging owns it).
INBOX_URL = "/inbox/"


def _landing(membership) -> str:
    """Where a member starts: the inbox, or the contacts for marketing (the inbox is for agents and admins)."""
    return "/contacts/" if membership is not None and membership.role == Role.MARKETING else INBOX_URL


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if allowed else fallback


def _open_session(request, user, organization_id: int | None) -> None:
    """Signs `user` in on this browser, acting in that organization (None: staff outside every tenant)."""
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    sessions.browser_session_open(request=request, user=user)
    if organization_id is not None:
        request.session[selectors.SESSION_ORGANIZATION_KEY] = organization_id


def _signed_in(request, user, membership, target: str):
    """Opens the browser session and goes to `target`; this browser becomes a known device of the account (its
    failed sign-ins are counted apart from other clients': accounts.lockout). An admin whose organization requires
    two-step sign-in, without it, goes to the security page to turn it on."""
    _open_session(request, user, membership.organization_id if membership else None)
    if membership is not None and two_factor.enrolment_required(
        user=user, organization=membership.organization, role=membership.role
    ):
        messages.warning(
            request,
            _("%(org)s requires admins to use two-step sign-in: turn it on first.")
            % {"org": membership.organization.name},
        )
        target = reverse("account-security")
    response = redirect(target)
    lockout.remember_device(request, response, user.email)
    return response


def _second_step(request, pending: two_factor.SecondStepRequired, target: str):
    """The first step passed and the account asks for its second: the challenge waits in this browser's session
    for the second-step page."""
    request.session[two_factor.CHALLENGE_SESSION_KEY] = {"challenge": pending.challenge, "next": target}
    return redirect("sign-in-two-step")


def _notice(request, *, title: str, text: str, link: tuple[str, str] | None = None, status: int = 200):
    """A page that only tells something (a link that does not work, a password changed, too many attempts), with
    one way on."""
    context = {"title": title, "text": text, "link_url": link[0] if link else "", "link_label": link[1] if link else ""}
    return render(request, "accounts/notice.html", context, status=status)


def throttled_posts(view):
    """The anonymous account forms share the API's per-address bucket (AuthRateThrottle): a form post beyond the
    rate gets a 429 page instead of another sign-in attempt, account or e-mail."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method == "POST" and not AuthRateThrottle().allow_request(request, None):
            text = _("Too many attempts from your network. Wait a minute, then try again.")
            return _notice(request, title=_("Too many attempts"), text=text, status=429)
        return view(request, *args, **kwargs)

    return wrapper


def home(request):
    if not request.user.is_authenticated:
        return redirect("sign-in")
    return redirect(_landing(selectors.session_membership(user=request.user, session=request.session)))


@throttled_posts
def sign_in(request):
    """Sign-in; `?email=` fills the e-mail in (the sign-up page links here when the address has an account)."""
    form = SignInForm(request.POST or None, initial={"email": request.GET.get("email", "")})
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            user, membership = services.auth_authenticate(request=request, **form.cleaned_data)
        except ServiceError as refused:
            error = refused.detail
        except two_factor.SecondStepRequired as pending:
            return _second_step(request, pending, _safe_next(request, ""))
        else:
            return _signed_in(request, user, membership, _safe_next(request, _landing(membership)))
    context = {
        "form": form,
        "error": error,
        "next": _safe_next(request, ""),
        "demo_credentials": demo.sign_in_hint(),
        "google_enabled": google.web_configured(),
    }
    return render(request, "accounts/sign_in.html", context)


@throttled_posts
def magic_link_request(request):
    """Asks for a sign-in link by e-mail. The same answer whether an account has the address or not (the service's)."""
    form = PasswordForgotForm(request.POST or None, initial={"email": request.GET.get("email", "")})
    if request.method == "POST" and form.is_valid():
        try:
            magic_links.magic_link_request(request=request, email=form.cleaned_data["email"])
        except ServiceError as refused:
            return _notice(request, title=_("Too many attempts"), text=refused.detail, status=refused.status_code)
        context = {
            "sent_to": form.cleaned_data["email"],
            "valid_minutes": int(settings.MAGIC_LINK_TTL.total_seconds() // 60),
        }
        return render(request, "accounts/magic_link_request.html", context)
    return render(request, "accounts/magic_link_request.html", {"form": form})


def _link_expired(request):
    text = _("This sign-in link is invalid, has expired or was already used. Ask for a new one.")
    return _link_not_working(request, text=text, link=(reverse("magic-link-request"), _("Ask for a new link")))


@throttled_posts
def magic_link(request):
    """The link of the sign-in e-mail (`/magic-link?token=...`). Opening it only shows a button: the POST uses the
    link, so a mail scanner that fetches links does not burn it."""
    token = request.GET.get("token", "")
    account = magic_links.magic_link_usable(token=token)
    if account is None:
        return _link_expired(request)
    if request.method == "POST":
        try:
            user, membership = magic_links.auth_magic_link(request=request, token=token)
        except ServiceError as refused:
            if refused.code == "invalid_magic_link":
                return _link_expired(request)
            return _notice(request, title=_("You can't sign in this way"), text=refused.detail, status=403)
        except two_factor.SecondStepRequired as pending:
            return _second_step(request, pending, "")
        return _signed_in(request, user, membership, _landing(membership))
    return render(request, "accounts/magic_link.html", {"account": account})


def _google_redirect_uri(request) -> str:
    return request.build_absolute_uri(reverse("google-callback"))


def google_start(request):
    """The "Sign in with Google" button: off to Google's consent page (authorization-code flow, accounts.google)."""
    if not google.web_configured():
        return redirect("sign-in")
    return redirect(google.authorization_url(session=request.session, redirect_uri=_google_redirect_uri(request)))


def google_callback(request):
    """Google's redirect back: the code is exchanged and its ID token verified, then the account signs in (or is
    created with its organization) as the API's auth/google does."""
    if not google.web_configured():
        return redirect("sign-in")
    back = (reverse("sign-in"), _("Back to sign-in"))
    if request.GET.get("error"):  # the person cancelled on Google's page
        return redirect("sign-in")
    try:
        identity = google.identity_from_callback(
            session=request.session,
            state=request.GET.get("state", ""),
            code=request.GET.get("code", ""),
            redirect_uri=_google_redirect_uri(request),
        )
        user, membership = services.auth_google_identity(request=request, identity=identity)
    except ServiceError as refused:
        return _notice(request, title=_("Google sign-in failed"), text=refused.detail, link=back, status=403)
    except two_factor.SecondStepRequired as pending:
        return _second_step(request, pending, "")
    return _signed_in(request, user, membership, _landing(membership))


@throttled_posts
def sign_in_two_step(request):
    """The second step of a sign-in (accounts.two_factor): a code of the authenticator app or a recovery code, and
    "trust this browser". Without a sign-in waiting for it, back to the sign-in page."""
    waiting = request.session.get(two_factor.CHALLENGE_SESSION_KEY) or {}
    account = two_factor.challenge_user(challenge=waiting.get("challenge", ""))
    if account is None:
        request.session.pop(two_factor.CHALLENGE_SESSION_KEY, None)
        return redirect("sign-in")
    form = SecondStepForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user, membership = two_factor.auth_second_step(
                request=request,
                challenge=waiting["challenge"],
                code=form.cleaned_data["code"],
                recovery_code=form.cleaned_data["recovery_code"],
            )
        except ServiceError as refused:
            if refused.code == "invalid_challenge":
                request.session.pop(two_factor.CHALLENGE_SESSION_KEY, None)
                back = (reverse("sign-in"), _("Back to sign-in"))
                return _notice(request, title=_("Sign in again"), text=refused.detail, link=back, status=401)
            form.add_refusal(refused)
        else:
            request.session.pop(two_factor.CHALLENGE_SESSION_KEY, None)
            response = _signed_in(request, user, membership, waiting.get("next") or _landing(membership))
            if form.cleaned_data["trust_device"]:
                two_factor.trusted_device_create(request=request, response=response, user=user)
            return response
    show_recovery = bool(form.data.get("recovery_code")) or request.GET.get("recovery") == "1"
    if show_recovery:
        form.focus_recovery()
    context = {"form": form, "account": account, "show_recovery": show_recovery}
    return render(request, "accounts/sign_in_two_step.html", context)


@require_POST
def sign_out(request):
    sessions.user_session_sign_out(
        user_id=request.session.get(SESSION_KEY), session_id=request.session.get(sessions.BROWSER_SESSION_KEY)
    )
    logout(request)
    return redirect("sign-in")


@throttled_posts
def sign_up(request):
    """A new account with a new organization, of which it is the admin; then signed in there."""
    form = SignUpForm(request.POST or None)
    email_taken = False
    if request.method == "POST" and form.is_valid():
        try:
            user, organization = services.user_register(**form.cleaned_data)
        except ServiceError as refused:
            form.add_refusal(refused)
            # The service refuses an e-mail only when it has an account: the page offers to sign in with it.
            email_taken = "email" in (refused.errors or {})
        else:
            _open_session(request, user, organization.pk)
            return redirect(INBOX_URL)
    return render(request, "accounts/sign_up.html", {"form": form, "email_taken": email_taken})


@throttled_posts
def password_forgot(request):
    """Asks for a reset link. The same answer whether an account has the address or not, as the service does."""
    form = PasswordForgotForm(request.POST or None, initial={"email": request.GET.get("email", "")})
    if request.method == "POST" and form.is_valid():
        services.password_reset_request(email=form.cleaned_data["email"])
        context = {"sent_to": form.cleaned_data["email"], "valid_minutes": settings.PASSWORD_RESET_TIMEOUT // 60}
        return render(request, "accounts/password_forgot.html", context)
    return render(request, "accounts/password_forgot.html", {"form": form})


def _link_not_working(request, *, text: str, link: tuple[str, str]):
    return _notice(request, title=_("This link does not work"), text=text, link=link, status=400)


@throttled_posts
def password_reset(request):
    """The link of the reset e-mail (`/reset-password?token=...`, services.password_reset_send): a new password, then
    every session of the account is signed out (the service's work) and the person signs in again."""
    token = request.GET.get("token", "")
    user = selectors.password_reset_user(token=token)
    if user is None:
        text = _("This password reset link is invalid, has expired or was already used. Ask for a new one.")
        return _link_not_working(request, text=text, link=(reverse("password-forgot"), _("Ask for a new link")))
    form = PasswordResetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.password_reset(token=token, new_password=form.cleaned_data["new_password"])
        except ServiceError as refused:
            form.add_refusal(refused)
        else:
            text = _("Your password is changed and every session of your account is signed out.")
            return _notice(request, title=_("Password changed"), text=text, link=(reverse("sign-in"), _("Sign in")))
    return render(request, "accounts/password_reset.html", {"form": form, "account": user})


@throttled_posts
def invitation_accept(request):
    """The link of the invitation e-mail (`/accept-invite?token=...`, services.invitation_send): joins the
    organization with a new account, or with the account the invited e-mail has (its password proves it), then
    signed in there."""
    token = request.GET.get("token", "")
    invitation = selectors.invitation_for_token(token=token)
    if invitation is None:
        text = _(
            "This invitation is invalid, was already used, was revoked or has expired. Ask an admin of the "
            "organization to invite you again."
        )
        return _link_not_working(request, text=text, link=(reverse("sign-in"), _("Go to sign-in")))
    form_class = InvitationSignInForm if invitation.has_account else InvitationSignUpForm
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership = services.invitation_accept(token=token, **form.cleaned_data)
        except ServiceError as refused:
            form.add_refusal(refused)
        else:
            messages.success(request, _("Welcome to %(org)s.") % {"org": membership.organization.name})
            if two_factor.second_step_needed(request=request, user=membership.user):
                # An existing account that proved its password: its sign-in still takes the second step.
                challenge = two_factor.challenge_issue(
                    user=membership.user,
                    method=services.SignInMethod.PASSWORD,
                    organization_id=membership.organization_id,
                    staff_only=False,
                )
                return _second_step(request, two_factor.SecondStepRequired(challenge), _landing(membership))
            _open_session(request, membership.user, membership.organization_id)
            return redirect(_landing(membership))
    with timezone.override(organization_time_zone(invitation.organization)):  # the expiry in the organization's time
        return render(request, "accounts/invitation_accept.html", {"form": form, "invitation": invitation})


@login_required
def organization_create(request):
    """Another organization for a signed-in person (agencies run several): they are its admin, and the session
    switches to it. A person without any organization is sent here by the pages (accounts.web.member_required)."""
    form = OrganizationCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership = services.organization_create_for_user(user=request.user, name=form.cleaned_data["name"])
        except ServiceError as refused:
            form.add_refusal(refused)
        else:
            request.session[selectors.SESSION_ORGANIZATION_KEY] = membership.organization_id
            messages.success(
                request, _("%(org)s is created and you are its admin.") % {"org": membership.organization.name}
            )
            return redirect(INBOX_URL)
    has_organization = selectors.default_membership(user=request.user) is not None
    return render(request, "accounts/organization_create.html", {"form": form, "has_organization": has_organization})


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
