"""CRM API: businesses/, customers/ (messaging's contacts under the seed's name), pipelines/ and stages/, deals/
(filters, totals per stage, history), sales-team/."""

from django.utils.translation import gettext
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from accounts.models import User
from accounts.permissions import IsAdmin, IsOrgMember
from accounts.viewsets import TenantScopedMixin
from crm import selectors, services
from crm.ads.api import AdViewSet
from crm.models import Ad, Business, Deal, Outcome, Pipeline, Stage
from crm.serializers import (
    BusinessDetailSerializer,
    BusinessInputSerializer,
    BusinessSerializer,
    CustomerBusinessSerializer,
    CustomerCrmSerializer,
    DealHistorySerializer,
    DealInputSerializer,
    DealSerializer,
    PipelineInputSerializer,
    PipelineSerializer,
    SalesMemberCreatedSerializer,
    SalesMemberInputSerializer,
    SalesMemberSerializer,
    SalesMemberUpdateSerializer,
    StageInputSerializer,
    StageReorderSerializer,
    StageSerializer,
    StageTotalSerializer,
)
from messaging.api.contacts import ContactViewSet
from messaging.models import Contact
from messaging.selectors.access import request_visible_numbers
from messaging.selectors.conversations import conversation_list
from whatsapp_hub.errors import ServiceError
from whatsapp_hub.pagination import PageNumberPagination
from whatsapp_hub.routers import Router
from whatsapp_hub.schema import error_responses

ERRORS = error_responses(
    [(400, "Invalid input ({detail, errors})"), (401, "Not authenticated"), (403, "Not allowed"), (404, "Not found")]
)
CONFLICT = error_responses([(409, "Refused in the current state")])
DETAIL_LIMIT = 100


def row_of(queryset, pk, field: str):
    """The row `pk` of a scoped queryset, or a 400 on `field` (another organization's row is not found)."""
    if pk is None:
        return None
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise ServiceError(gettext("Not found."), errors={field: [gettext("Not found.")]})
    return found


def _resolve(request, data: dict, links: dict[str, object]) -> dict:
    """Input ids (`<name>_id`) swapped for the organization's rows (`<name>`)."""
    fields = dict(data)
    for name, queryset in links.items():
        key = f"{name}_id"
        if key in fields:
            fields[name] = row_of(queryset, fields.pop(key), key)
    return fields


class WriteIsAdmin(IsOrgMember):
    """Every member reads; admins change."""

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        return request.method in SAFE_METHODS or IsAdmin().has_permission(request, view)


# --- Businesses ------------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(responses={200: BusinessSerializer(many=True), **ERRORS}),
    retrieve=extend_schema(responses={200: BusinessDetailSerializer, **ERRORS}),
    create=extend_schema(request=BusinessInputSerializer, responses={201: BusinessDetailSerializer, **ERRORS}),
    update=extend_schema(request=BusinessInputSerializer, responses={200: BusinessDetailSerializer, **ERRORS}),
    partial_update=extend_schema(request=BusinessInputSerializer, responses={200: BusinessDetailSerializer, **ERRORS}),
    destroy=extend_schema(responses={204: None, **ERRORS}),
)
@extend_schema(tags=["crm"])
class BusinessViewSet(TenantScopedMixin, viewsets.ModelViewSet):
    """The organization's customer companies (seed `businesses/`). GET one lists its contacts, the conversations
    with them that the caller may see, and its deals (up to 100 each). A contact belongs to at most one business:
    `contact_ids` sent replace the business's contacts. Deleting a business keeps its contacts and deals."""

    serializer_class = BusinessSerializer
    lookup_value_regex = r"\d{1,18}"
    selector = staticmethod(selectors.business_list)

    class Filter(filters.FilterSet):
        search = filters.CharFilter(field_name="name", lookup_expr="icontains", help_text="Name contains")
        industry = filters.CharFilter(lookup_expr="iexact")
        owner_id = filters.NumberFilter()
        tag = filters.CharFilter(field_name="tags", lookup_expr="contains", method="filter_tag")

        class Meta:
            model = Business
            fields = ["search", "industry", "owner_id", "tag"]

        def filter_tag(self, queryset, name, value):
            return queryset.filter(tags__contains=[value])

    filterset_class = Filter
    filter_backends = [filters.DjangoFilterBackend]

    def _input(self, *, partial: bool) -> dict:
        serializer = BusinessInputSerializer(data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        fields = _resolve(self.request, serializer.validated_data, {"owner": User.objects.all()})
        if "contact_ids" in fields:
            ids = fields.pop("contact_ids")
            contacts = list(Contact.objects.for_org(self.request.org).filter(pk__in=ids))
            if len(contacts) != len(set(ids)):
                raise ServiceError(gettext("Not found."), errors={"contact_ids": [gettext("Not found.")]})
            fields["contacts"] = contacts
        return fields

    def _detail(self, business: Business, status_code=status.HTTP_200_OK) -> Response:
        business = self.get_queryset().get(pk=business.pk)
        org = self.request.org
        context = {
            "contacts": selectors.business_contacts(business=business)[:DETAIL_LIMIT],
            "conversations": selectors.business_conversations(
                business=business, number_ids=request_visible_numbers(self.request)
            )[:DETAIL_LIMIT],
            "deals": selectors.deal_list(org=org).filter(business=business)[:DETAIL_LIMIT],
        }
        return Response(BusinessDetailSerializer(business, context=context).data, status=status_code)

    def retrieve(self, request, pk=None):
        return self._detail(self.get_object())

    def create(self, request):
        business = services.business_create(organization=request.org, actor=request.user, **self._input(partial=False))
        return self._detail(business, status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        business = self.get_object()
        business = services.business_update(business=business, actor=request.user, **self._input(partial=True))
        return self._detail(business)

    def perform_destroy(self, instance):
        services.business_delete(business=instance, actor=self.request.user)


# --- Customers -------------------------------------------------------------------------------------------------


@extend_schema(tags=["crm"])
class CustomerViewSet(ContactViewSet):
    """Seed `customers/`: the organization's contacts under that name (the same rows and rules as `contacts/`), with
    each one's business and open deals (`customers/{id}/crm`) and its business set (`PUT customers/{id}/business`)."""

    AGENT_ACTIONS = ContactViewSet.AGENT_ACTIONS | {"crm", "business"}

    def _crm(self, contact: Contact) -> Response:
        org = self.request.org
        data = {
            "business": selectors.business_of_contact(org=org, contact=contact),
            "open_deals": selectors.contact_open_deals(org=org, contact=contact)[:DETAIL_LIMIT],
        }
        return Response(CustomerCrmSerializer(data).data)

    @extend_schema(request=None, responses={200: CustomerCrmSerializer, **ERRORS})
    @action(detail=True, methods=["get"])
    def crm(self, request, pk=None):
        """The customer's business and open deals."""
        return self._crm(self.get_object())

    @extend_schema(request=CustomerBusinessSerializer, responses={200: CustomerCrmSerializer, **ERRORS})
    @action(detail=True, methods=["put"])
    def business(self, request, pk=None):
        """Set the customer's business (`business_id`, or null for none)."""
        contact = self.get_object()
        serializer = CustomerBusinessSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        business = row_of(
            Business.objects.for_org(request.org), serializer.validated_data["business_id"], "business_id"
        )
        services.contact_set_business(contact=contact, business=business)
        return self._crm(contact)


# --- Pipelines and stages --------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(responses={200: PipelineSerializer(many=True), **ERRORS}),
    retrieve=extend_schema(responses={200: PipelineSerializer, **ERRORS}),
    create=extend_schema(request=PipelineInputSerializer, responses={201: PipelineSerializer, **ERRORS}),
    partial_update=extend_schema(request=PipelineInputSerializer, responses={200: PipelineSerializer, **ERRORS}),
    destroy=extend_schema(responses={204: None, **ERRORS, **CONFLICT}),
)
@extend_schema(tags=["crm"])
class PipelineViewSet(
    TenantScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Sales pipelines and their ordered stages. The default "Sales" pipeline (New, Qualified, Proposal, Won, Lost)
    is created on first use. Every member reads; admins change. A stage's `outcome` (open, won, lost) is the status
    of the deals in it. Deleting a pipeline with deals is refused (409)."""

    serializer_class = PipelineSerializer
    lookup_value_regex = r"\d{1,18}"
    permission_classes = [WriteIsAdmin]
    pagination_class = None
    selector = staticmethod(selectors.pipeline_list)

    def list(self, request, *args, **kwargs):
        services.pipeline_default(organization=request.org)
        return super().list(request, *args, **kwargs)

    def _shown(self, pipeline: Pipeline, status_code=status.HTTP_200_OK) -> Response:
        return Response(PipelineSerializer(self.get_queryset().get(pk=pipeline.pk)).data, status=status_code)

    def create(self, request):
        serializer = PipelineInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pipeline = services.pipeline_create(organization=request.org, actor=request.user, **serializer.validated_data)
        return self._shown(pipeline, status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        pipeline = self.get_object()
        serializer = PipelineInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        if "stages" in serializer.validated_data:
            raise ServiceError(gettext("Change stages through stages/ and reorder."), errors={"stages": ["Read only."]})
        return self._shown(services.pipeline_update(pipeline=pipeline, actor=request.user, **serializer.validated_data))

    def perform_destroy(self, instance):
        services.pipeline_delete(pipeline=instance, actor=self.request.user)

    @extend_schema(request=StageInputSerializer, responses={201: StageSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def stages(self, request, pk=None):
        """Add a stage at the end of the pipeline."""
        pipeline = self.get_object()
        serializer = StageInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        stage = services.stage_create(pipeline=pipeline, actor=request.user, **serializer.validated_data)
        return Response(StageSerializer(stage).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=StageReorderSerializer, responses={200: PipelineSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def reorder(self, request, pk=None):
        """Put the pipeline's stages in this order (`stage_ids`: each of its stages once)."""
        pipeline = self.get_object()
        serializer = StageReorderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pipeline = services.stages_reorder(pipeline=pipeline, actor=request.user, **serializer.validated_data)
        return self._shown(pipeline)


@extend_schema_view(
    retrieve=extend_schema(responses={200: StageSerializer, **ERRORS}),
    partial_update=extend_schema(request=StageInputSerializer, responses={200: StageSerializer, **ERRORS, **CONFLICT}),
    destroy=extend_schema(
        parameters=[
            OpenApiParameter("move_to", int, description="The stage of the same pipeline that takes this one's deals")
        ],
        responses={204: None, **ERRORS, **CONFLICT},
    ),
)
@extend_schema(tags=["crm"])
class StageViewSet(TenantScopedMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """A pipeline's stage: rename, change its outcome (not while it has deals: 409), delete. A stage with deals is
    deleted only with `?move_to=<stage id>` (its deals move there, recorded in their history); else 409."""

    serializer_class = StageSerializer
    lookup_value_regex = r"\d{1,18}"
    permission_classes = [WriteIsAdmin]
    selector = staticmethod(selectors.stage_list)

    def partial_update(self, request, pk=None):
        stage = self.get_object()
        serializer = StageInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        stage = services.stage_update(stage=stage, actor=request.user, **serializer.validated_data)
        return Response(StageSerializer(stage).data)

    def destroy(self, request, pk=None):
        stage = self.get_object()
        raw = request.query_params.get("move_to")
        move_to = None
        if raw is not None:
            if not raw.isdigit() or len(raw) > 18:
                raise ServiceError(gettext("Not found."), errors={"move_to": [gettext("Not found.")]})
            move_to = row_of(self.get_queryset(), int(raw), "move_to")
        services.stage_delete(stage=stage, actor=request.user, move_to=move_to)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Deals -----------------------------------------------------------------------------------------------------


class DealFilter(filters.FilterSet):
    pipeline_id = filters.NumberFilter()
    stage_id = filters.NumberFilter()
    owner_id = filters.NumberFilter()
    status = filters.ChoiceFilter(choices=Outcome.choices)
    contact_id = filters.NumberFilter()
    business_id = filters.NumberFilter()
    currency = filters.CharFilter(lookup_expr="iexact")
    value_min = filters.NumberFilter(field_name="value", lookup_expr="gte")
    value_max = filters.NumberFilter(field_name="value", lookup_expr="lte")
    close_after = filters.DateFilter(
        field_name="expected_close_date", lookup_expr="gte", help_text="Expected close on or after"
    )
    close_before = filters.DateFilter(
        field_name="expected_close_date", lookup_expr="lte", help_text="Expected close on or before"
    )
    search = filters.CharFilter(field_name="title", lookup_expr="icontains")

    class Meta:
        model = Deal
        fields = [
            "pipeline_id",
            "stage_id",
            "owner_id",
            "status",
            "contact_id",
            "business_id",
            "currency",
            "value_min",
            "value_max",
            "close_after",
            "close_before",
            "search",
        ]


class DealPagination(PageNumberPagination):
    """The page style, plus `totals`: per stage of every deal matching the filters, the count and the value summed
    per currency."""

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data["totals"] = StageTotalSerializer(self.totals, many=True).data
        return response

    def get_paginated_response_schema(self, schema):
        schema = super().get_paginated_response_schema(schema)
        schema["properties"]["totals"] = {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["stage_id", "count", "values"],
                "properties": {
                    "stage_id": {"type": "integer"},
                    "count": {"type": "integer"},
                    "values": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["currency", "value"],
                            "properties": {
                                "currency": {"type": "string"},
                                "value": {"type": "string", "format": "decimal"},
                            },
                        },
                    },
                },
            },
        }
        schema["required"] = [*schema.get("required", []), "totals"]
        return schema


@extend_schema_view(
    list=extend_schema(responses={200: DealSerializer(many=True), **ERRORS}),
    retrieve=extend_schema(responses={200: DealSerializer, **ERRORS}),
    create=extend_schema(request=DealInputSerializer, responses={201: DealSerializer, **ERRORS}),
    update=extend_schema(request=DealInputSerializer, responses={200: DealSerializer, **ERRORS}),
    partial_update=extend_schema(request=DealInputSerializer, responses={200: DealSerializer, **ERRORS}),
    destroy=extend_schema(responses={204: None, **ERRORS}),
)
@extend_schema(tags=["crm"])
class DealViewSet(TenantScopedMixin, viewsets.ModelViewSet):
    """Deals (seed `deals/`): title, value and currency (ISO 4217; no more decimals than the currency has), pipeline
    and stage, status (open, won, lost with `lost_reason`), owner (a member), contact and/or business, expected close
    date, source (conversation, campaign, ad, manual) and `ad_id` (the Click-to-WhatsApp ad it came from: from a
    conversation an ad started, that ad), notes. Without a pipeline a deal goes to the default one; from
    a `conversation_id` it takes the conversation's contact and that contact's business. PUT and PATCH change only
    the fields sent. Every stage or status change is kept (`deals/{id}/history`) and pushed live as `deal.updated`.
    The list carries `totals` per stage of all the deals matching its filters."""

    serializer_class = DealSerializer
    filterset_class = DealFilter
    filter_backends = [filters.DjangoFilterBackend]
    pagination_class = DealPagination
    lookup_value_regex = r"\d{1,18}"
    selector = staticmethod(selectors.deal_list)

    def list(self, request, *args, **kwargs):
        deals = self.filter_queryset(self.get_queryset())
        self.paginator.totals = selectors.stage_totals(deals)
        page = self.paginate_queryset(deals)
        return self.get_paginated_response(DealSerializer(page, many=True).data)

    def _input(self, *, partial: bool) -> dict:
        serializer = DealInputSerializer(data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        org = self.request.org
        links: dict[str, object] = {
            "pipeline": Pipeline.objects.for_org(org),
            "stage": Stage.objects.for_org(org).select_related("pipeline"),
            "owner": User.objects.all(),
            "contact": Contact.objects.for_org(org),
            "business": Business.objects.for_org(org),
            "conversation": conversation_list(org=org, number_ids=request_visible_numbers(self.request)),
            "ad": Ad.objects.for_org(org),
        }
        return _resolve(self.request, serializer.validated_data, links)

    def _shown(self, deal: Deal, status_code=status.HTTP_200_OK) -> Response:
        return Response(DealSerializer(self.get_queryset().get(pk=deal.pk)).data, status=status_code)

    def create(self, request):
        deal = services.deal_create(organization=request.org, actor=request.user, **self._input(partial=False))
        return self._shown(deal, status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        deal = self.get_object()
        fields = self._input(partial=True)
        if "conversation" in fields:
            raise ServiceError(
                gettext("A deal's conversation is set when it is created."), errors={"conversation_id": ["Read only."]}
            )
        return self._shown(services.deal_update(deal=deal, actor=request.user, **fields))

    def perform_destroy(self, instance):
        services.deal_delete(deal=instance, actor=self.request.user)

    @extend_schema(request=None, responses={200: DealHistorySerializer(many=True), **ERRORS})
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def history(self, request, pk=None):
        """Every stage or status change of the deal, oldest first, with who and when."""
        return Response(DealHistorySerializer(selectors.deal_history(deal=self.get_object()), many=True).data)


# --- Sales team ------------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(responses={200: SalesMemberSerializer(many=True), **ERRORS}),
    retrieve=extend_schema(responses={200: SalesMemberSerializer, **ERRORS}),
    create=extend_schema(request=SalesMemberInputSerializer, responses={201: SalesMemberCreatedSerializer, **ERRORS}),
    partial_update=extend_schema(request=SalesMemberUpdateSerializer, responses={200: SalesMemberSerializer, **ERRORS}),
    destroy=extend_schema(responses={204: None, **ERRORS}),
)
@extend_schema(tags=["crm"])
class SalesTeamViewSet(
    TenantScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The sales team (seed `sales-team/` `{name, email, phone}`): the people who own deals. Adding someone without
    an account in the organization invites them as an agent (the access list's e-mail); their phone is kept here.
    Every member reads; admins change. Removing someone keeps their account."""

    serializer_class = SalesMemberSerializer
    lookup_value_regex = r"\d{1,18}"
    permission_classes = [WriteIsAdmin]
    selector = staticmethod(selectors.sales_member_list)

    def create(self, request):
        serializer = SalesMemberInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        member = services.sales_member_add(organization=request.org, actor=request.user, **serializer.validated_data)
        row = self.get_queryset().get(pk=member.pk)
        row.status, row.member_id = "success", row.pk
        return Response(SalesMemberCreatedSerializer(row).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        member = self.get_object()
        serializer = SalesMemberUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        member = services.sales_member_update(member=member, actor=request.user, **serializer.validated_data)
        return Response(SalesMemberSerializer(self.get_queryset().get(pk=member.pk)).data)

    def perform_destroy(self, instance):
        services.sales_member_remove(member=instance, actor=self.request.user)


router = Router()
router.register("businesses", BusinessViewSet, basename="business")
router.register("customers", CustomerViewSet, basename="customer")
router.register("pipelines", PipelineViewSet, basename="pipeline")
router.register("stages", StageViewSet, basename="stage")
router.register("deals", DealViewSet, basename="deal")
router.register("sales-team", SalesTeamViewSet, basename="sales-team")
router.register("ads", AdViewSet, basename="ad")
urlpatterns = router.urls
