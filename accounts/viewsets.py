from rest_framework import viewsets

from whatsapp_hub.query_params import KnownQueryParamsMixin


class TenantScopedMixin(KnownQueryParamsMixin):
    """Scopes every query to request.org and sets it on create; another tenant's row is a 404. Like every API view,
    it refuses query parameters it does not document (KnownQueryParamsMixin).

    The rows come from `selector` when the view sets one (a read of selectors.py taking `org=`, e.g.
    `selector = staticmethod(selectors.contact_list)`), else from `queryset` scoped with `for_org`; the selector
    also gets `selector_kwargs()` (e.g. the numbers the caller may see). Schema generation has no organization: it
    gets an empty queryset of the serializer's model.
    """

    selector = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.get_serializer_class().Meta.model.objects.none()
        if self.selector is not None:
            return self.selector(org=self.request.org, **self.selector_kwargs())
        return super().get_queryset().for_org(self.request.org)

    def selector_kwargs(self) -> dict:
        return {}

    def perform_create(self, serializer):
        serializer.save(organization=self.request.org)


class TenantViewSet(TenantScopedMixin, viewsets.ModelViewSet):
    """CRUD on one tenant-owned model."""
