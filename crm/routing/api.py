"""Lead-routing API: `lead-routing/` (the rules; admins only, reads included: they say who takes which
conversations) and `auth/me/availability` (a member marks themselves away or available)."""

from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Team
from accounts.permissions import IsAdmin, IsOrgMember, IsUser
from accounts.viewsets import TenantScopedMixin
from crm.api import ERRORS, _resolve
from crm.routing import selectors, services
from crm.routing.models import LeadRoutingRule
from crm.routing.serializers import (
    AvailabilityInputSerializer,
    AvailabilitySerializer,
    LeadRoutingRuleInputSerializer,
    LeadRoutingRuleSerializer,
)
from messaging.models import WhatsAppNumber
from whatsapp_hub.errors import ServiceError
from whatsapp_hub.query_params import KnownQueryParamsMixin
from whatsapp_hub.routers import Router, api_path


@extend_schema_view(
    list=extend_schema(responses={200: LeadRoutingRuleSerializer(many=True), **ERRORS}),
    retrieve=extend_schema(responses={200: LeadRoutingRuleSerializer, **ERRORS}),
    create=extend_schema(request=LeadRoutingRuleInputSerializer, responses={201: LeadRoutingRuleSerializer, **ERRORS}),
    update=extend_schema(request=LeadRoutingRuleInputSerializer, responses={200: LeadRoutingRuleSerializer, **ERRORS}),
    partial_update=extend_schema(
        request=LeadRoutingRuleInputSerializer, responses={200: LeadRoutingRuleSerializer, **ERRORS}
    ),
    destroy=extend_schema(responses={204: None, **ERRORS}),
)
@extend_schema(tags=["crm"])
class LeadRoutingViewSet(TenantScopedMixin, viewsets.ModelViewSet):
    """Lead-routing rules (admins): the new conversations of a WhatsApp number (`number_id`; null: every number
    without a rule of its own) go round-robin to the members of `team_id` who are active admins or agents, not
    away, see the number and have fewer than `max_open_per_member` open conversations (null: no cap). Only
    conversations a customer started are dealt; when nobody is available one goes to the team unassigned and is
    dealt when a member comes back or a conversation closes. Each assignment is audited (`conversation.assign` with
    the rule) and pushed live. PUT and PATCH change only the fields sent."""

    serializer_class = LeadRoutingRuleSerializer
    permission_classes = [IsAdmin]
    lookup_value_regex = r"\d{1,18}"
    selector = staticmethod(selectors.lead_routing_rule_list)

    def _input(self, *, partial: bool) -> dict:
        serializer = LeadRoutingRuleInputSerializer(data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        org = self.request.org
        links = {"number": WhatsAppNumber.objects.for_org(org).live(), "team": Team.objects.for_org(org)}
        return _resolve(self.request, serializer.validated_data, links)

    def _shown(self, rule: LeadRoutingRule, status_code=status.HTTP_200_OK) -> Response:
        return Response(LeadRoutingRuleSerializer(self.get_queryset().get(pk=rule.pk)).data, status=status_code)

    def create(self, request):
        fields = self._input(partial=False)
        rule = services.lead_routing_rule_create(organization=request.org, actor=request.user, **fields)
        return self._shown(rule, status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        rule = self.get_object()
        fields = self._input(partial=True)
        return self._shown(services.lead_routing_rule_update(rule=rule, actor=request.user, **fields))

    def perform_destroy(self, instance):
        services.lead_routing_rule_delete(rule=instance, actor=self.request.user)


class IsMemberInPerson(IsOrgMember):
    """A person acting in an organization (an API key has no availability of its own)."""

    message = IsUser.message

    def has_permission(self, request, view):
        return super().has_permission(request, view) and IsUser().has_permission(request, view)


@extend_schema(tags=["auth"])
class AvailabilityView(KnownQueryParamsMixin, APIView):
    """The caller's availability in the organization of the credential: away members get no new conversation from
    lead routing; coming back deals their teams' waiting conversations."""

    permission_classes = [IsMemberInPerson]

    def _membership(self, request):
        membership = selectors.membership_of(org=request.org, user_id=request.user.pk)
        if membership is None:  # the authentication checked it; a membership deleted since
            raise ServiceError(gettext("Not found."), status_code=404, code="not_found")
        return membership

    @extend_schema(responses={200: AvailabilitySerializer, **ERRORS})
    def get(self, request):
        return Response(AvailabilitySerializer(self._membership(request)).data)

    @extend_schema(request=AvailabilityInputSerializer, responses={200: AvailabilitySerializer, **ERRORS})
    def put(self, request):
        serializer = AvailabilityInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.membership_availability_set(
            membership=self._membership(request), is_away=serializer.validated_data["is_away"]
        )
        return Response(AvailabilitySerializer(membership).data)


router = Router()
router.register("lead-routing", LeadRoutingViewSet, basename="lead-routing")
urlpatterns = [
    api_path("auth/me/availability", AvailabilityView.as_view(), "auth-me-availability"),
    *router.urls,
]
