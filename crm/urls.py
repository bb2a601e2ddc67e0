from crm.api import urlpatterns

__all__ = ["urlpatterns"]
