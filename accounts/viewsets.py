from rest_framework import viewsets


class TenantScopedMixin:
    """Scopes every query to request.org and sets it on create; another tenant's row is a 404."""

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):  # schema generation has no organization
            return queryset.none()
        return queryset.for_org(self.request.org)

    def perform_create(self, serializer):
        serializer.save(organization=self.request.org)


class TenantViewSet(TenantScopedMixin, viewsets.ModelViewSet):
    """CRUD on one tenant-owned model."""
