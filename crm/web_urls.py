from crm.views import urlpatterns

__all__ = ["urlpatterns"]
