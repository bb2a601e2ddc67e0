"""Contacts API: CRUD, search and filters, opt-out/opt-in, CSV import and export."""

from django.http import StreamingHttpResponse
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from accounts.permissions import IsAgent, IsMarketing
from accounts.serializers import DetailSerializer
from accounts.viewsets import TenantScopedMixin
from messaging.models import Contact
from messaging.selectors import contacts as selectors
from messaging.serializers.contacts import (
    ContactImportResultSerializer,
    ContactImportSerializer,
    ContactInputSerializer,
    ContactSerializer,
)
from messaging.services import contacts as services
from messaging.services import erasure
from whatsapp_hub.routers import Router
from whatsapp_hub.schema import error_responses

ERRORS = error_responses(
    [
        (400, "Invalid input ({detail, errors})"),
        (401, "Not authenticated"),
        (403, "Not allowed"),
        (404, "Not found"),
    ]
)
EXPORT_CHUNK_SIZE = 1000
BOOLEANS = {"true": True, "false": False, "1": True, "0": False}


@extend_schema_field(OpenApiTypes.BOOL)
class _BooleanFilter(filters.TypedChoiceFilter):
    """true/false (or 1/0); anything else is a 400, not silently ignored like django-filter's BooleanFilter."""

    def __init__(self, **kwargs):
        super().__init__(choices=[(text, text) for text in BOOLEANS], coerce=BOOLEANS.__getitem__, **kwargs)


class ContactFilter(filters.FilterSet):
    search = filters.CharFilter(method="filter_search", help_text="Name, profile name, phone or tag name contains")
    tag = filters.CharFilter(method="filter_tag", help_text="Exact tag name")
    is_active = _BooleanFilter()
    opted_out = _BooleanFilter()

    class Meta:
        model = Contact
        fields = ["search", "tag", "is_active", "opted_out"]

    def filter_search(self, queryset, name, value):
        return selectors.contacts_matching(queryset, org=self.request.org, text=value)

    def filter_tag(self, queryset, name, value):
        return selectors.contacts_tagged(queryset, org=self.request.org, tag=value)


@extend_schema_view(
    list=extend_schema(responses={200: ContactSerializer(many=True), **ERRORS}),
    retrieve=extend_schema(responses={200: ContactSerializer, **ERRORS}),
    create=extend_schema(request=ContactInputSerializer, responses={201: ContactSerializer, **ERRORS}),
    update=extend_schema(request=ContactInputSerializer, responses={200: ContactSerializer, **ERRORS}),
    partial_update=extend_schema(request=ContactInputSerializer, responses={200: ContactSerializer, **ERRORS}),
    destroy=extend_schema(responses={204: None, **ERRORS}),
)
@extend_schema(tags=["contacts"])
class ContactViewSet(TenantScopedMixin, viewsets.ModelViewSet):
    """The organization's contacts.

    Roles: marketing and admins manage contacts (every route here). Agents talk to these people, so
    they may list, read, create and edit contacts, and opt one out when asked to in a chat; deleting,
    the bulk routes (CSV import and export) and opting a contact back in (a consent decision of
    marketing) are for marketing and admins.

    PUT and PATCH both change only the fields sent; `tags` sent replace the contact's tags (created
    on demand), `attributes` sent replace its attributes. Deletion is permanent and takes the
    contact's conversations and messages with it (the erasure path); set `is_active` to false to
    keep the history.
    """

    serializer_class = ContactSerializer
    filterset_class = ContactFilter
    filter_backends = [filters.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["name", "created_at", "last_inbound_at"]
    lookup_value_regex = r"\d+"
    AGENT_ACTIONS = frozenset({"list", "retrieve", "create", "update", "partial_update", "opt_out"})

    def get_permissions(self):
        allowed = (IsAgent | IsMarketing) if self.action in self.AGENT_ACTIONS else IsMarketing
        return [allowed()]

    selector = staticmethod(selectors.contact_list)

    def perform_content_negotiation(self, request, force=False):
        # The export answers CSV whatever the Accept header says; only its errors are JSON.
        return super().perform_content_negotiation(request, force=force or self.action == "export")

    def _input(self, *, partial: bool) -> dict:
        serializer = ContactInputSerializer(data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _shown(self, contact: Contact) -> dict:
        """The contact as the list shows it, read again with its tags."""
        return ContactSerializer(self.get_queryset().get(pk=contact.pk)).data

    def create(self, request):
        contact = services.contact_create(organization=request.org, **self._input(partial=False))
        return Response(self._shown(contact), status=status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        contact = services.contact_update(contact=self.get_object(), **self._input(partial=True))
        return Response(self._shown(contact))

    def perform_destroy(self, instance):
        erasure.contact_delete(contact=instance, actor=self.request.user)

    @extend_schema(request=None, responses={200: ContactSerializer, **ERRORS})
    @action(detail=True, methods=["post"], url_path="opt-out")
    def opt_out(self, request, pk=None):
        """No marketing templates to this contact any more (audited as contact.opt_out)."""
        contact = services.contact_set_opted_out(contact=self.get_object(), opted_out=True, actor=request.user)
        return Response(self._shown(contact))

    @extend_schema(request=None, responses={200: ContactSerializer, **ERRORS})
    @action(detail=True, methods=["post"], url_path="opt-in")
    def opt_in(self, request, pk=None):
        """Marketing templates allowed again (audited as contact.opt_in)."""
        contact = services.contact_set_opted_out(contact=self.get_object(), opted_out=False, actor=request.user)
        return Response(self._shown(contact))

    @extend_schema(
        request={"multipart/form-data": ContactImportSerializer},
        responses={
            200: ContactImportResultSerializer,
            413: OpenApiResponse(DetailSerializer, description="File too large"),
            **ERRORS,
        },
    )
    @action(detail=False, methods=["post"], url_path="import", url_name="import", parser_classes=[MultiPartParser])
    def import_csv(self, request):
        """Multipart `file`: CSV with columns name, number (or phone), tags (separated by , ; or |)."""
        # Refuse an oversized body before it is parsed (and spooled to disk).
        length = request.META.get("CONTENT_LENGTH", "")
        services.contact_import_size_check(size=int(length) if length.isdigit() else None)
        serializer = ContactImportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.contact_import_csv(
            organization=request.org, file=serializer.validated_data["file"], actor=request.user
        )
        return Response(ContactImportResultSerializer(result).data)

    @extend_schema(
        filters=True,  # the list's filters and ordering apply
        responses={
            (200, "text/csv"): OpenApiResponse(description="name, number, phone, tags, opted_out, created_at, notes")
        },
    )
    @action(detail=False, methods=["get"], url_path="export")
    def export(self, request):
        """The contacts matching the list's filters as a CSV attachment, streamed."""
        contacts = self.filter_queryset(self.get_queryset()).iterator(chunk_size=EXPORT_CHUNK_SIZE)
        response = StreamingHttpResponse(services.contacts_export_csv(contacts), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="contacts-{timezone.now():%Y%m%d-%H%M%S}.csv"'
        return response


router = Router()
router.register("contacts", ContactViewSet, basename="contact")
urlpatterns = router.urls
