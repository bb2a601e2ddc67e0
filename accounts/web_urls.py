from django.urls import path

from accounts import settings_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in/", views.sign_in, name="sign-in"),
    path("sign-out/", views.sign_out, name="sign-out"),
    path("switch-organization/", views.organization_switch, name="organization-switch"),
    path("language/", views.language, name="language"),
]

urlpatterns += settings_views.urlpatterns
