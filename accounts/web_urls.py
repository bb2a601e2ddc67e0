from django.urls import path

from accounts import platform_views, session_views, settings_views, two_factor_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in/", views.sign_in, name="sign-in"),
    path("sign-in/two-step/", views.sign_in_two_step, name="sign-in-two-step"),
    path("sign-in/link/", views.magic_link_request, name="magic-link-request"),
    path("sign-in/google/", views.google_start, name="google-sign-in"),
    path("sign-in/google/callback", views.google_callback, name="google-callback"),
    # The link the sign-in e-mail carries (accounts.magic_links.magic_link_send), without a slash.
    path("magic-link", views.magic_link, name="magic-link"),
    path("sign-out/", views.sign_out, name="sign-out"),
    path("sign-up/", views.sign_up, name="sign-up"),
    path("forgot-password/", views.password_forgot, name="password-forgot"),
    # The links the e-mails carry (accounts.services: password_reset_send, invitation_send), without a slash.
    path("reset-password", views.password_reset, name="password-reset"),
    path("accept-invite", views.invitation_accept, name="invitation-accept"),
    path("organizations/new/", views.organization_create, name="organization-create"),
    path("switch-organization/", views.organization_switch, name="organization-switch"),
    path("language/", views.language, name="language"),
]

urlpatterns += settings_views.urlpatterns
urlpatterns += platform_views.urlpatterns
urlpatterns += session_views.urlpatterns
urlpatterns += two_factor_views.urlpatterns
