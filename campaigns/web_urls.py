from campaigns.views import urlpatterns

__all__ = ["urlpatterns"]
