from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

api_v1 = [
    path("", include("accounts.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("admin/", admin.site.urls),
]

handler400 = "whatsapp_hub.errors.bad_request"
handler403 = "whatsapp_hub.errors.permission_denied"
handler404 = "whatsapp_hub.errors.page_not_found"
handler500 = "whatsapp_hub.errors.server_error"
