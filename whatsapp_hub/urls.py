from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from whatsapp_hub.errors import page_not_found
from whatsapp_hub.ops.views import LivenessView, ReadinessView, metrics_view

api_v1 = [
    path("", include("accounts.urls")),
    path("", include("messaging.urls")),
    path("", include("templates.urls")),
    path("", include("campaigns.urls")),
    path("", include("automation.urls")),
    path("", include("crm.urls")),
    path("health", LivenessView.as_view(), name="health"),
    path("health/ready", ReadinessView.as_view(), name="health-ready"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    # Unknown API paths answer JSON even with DEBUG on (Django's debug 404 page is HTML); csrf_exempt
    # like every DRF view, or a POST there would get the CSRF middleware's HTML 403 instead of a 404.
    re_path(r"^.*$", csrf_exempt(page_not_found)),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("webhooks/", include("messaging.webhook_urls")),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("", include("accounts.web_urls")),
    path("", include("messaging.web_urls")),
    path("", include("templates.web_urls")),
    path("", include("campaigns.web_urls")),
    path("", include("automation.web_urls")),
    path("", include("crm.web_urls")),
]

handler400 = "whatsapp_hub.errors.bad_request"
handler403 = "whatsapp_hub.errors.permission_denied"
handler404 = "whatsapp_hub.errors.page_not_found"
handler500 = "whatsapp_hub.errors.server_error"
