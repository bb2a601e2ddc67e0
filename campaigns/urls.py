from campaigns.api import urlpatterns

__all__ = ["urlpatterns"]
