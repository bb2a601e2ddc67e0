"""The platform's API beyond tenants (accounts.api): plans, for staff only."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

from accounts import platform
from accounts.api import ERRORS
from accounts.permissions import IsSuperAdmin
from accounts.platform_serializers import PlanSerializer, PlanUpdateSerializer
from whatsapp_hub.query_params import KnownQueryParamsMixin
from whatsapp_hub.schema import error_responses

DELETE_ERRORS = error_responses(
    [(401, "Not authenticated"), (403, "Not allowed"), (404, "Not found"), (409, "Organizations are on the plan")]
)


# PUT answers 405 (PATCH edits a plan), as on organizations.
@extend_schema_view(update=extend_schema(exclude=True))
@extend_schema(tags=["super admin"])
class PlanViewSet(
    KnownQueryParamsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Plans with their monthly price and limits (null: unlimited), by `code`. Organizations name their plan by code;
    a plan with organizations cannot be deleted (409): deactivate it, so no new organization gets it."""

    permission_classes = [IsSuperAdmin]
    serializer_class = PlanSerializer
    lookup_field = "code"
    lookup_value_regex = r"[-a-zA-Z0-9_]{1,16}"
    ordering_fields = ["monthly_price", "code", "name"]

    def get_queryset(self):
        return platform.plans_with_subscribers()

    def get_serializer_class(self):
        return PlanUpdateSerializer if self.action in ("update", "partial_update") else PlanSerializer

    @extend_schema(request=PlanSerializer, responses={201: PlanSerializer, **ERRORS})
    def create(self, request):
        serializer = PlanSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        plan = platform.plan_create(actor=request.user, **serializer.validated_data)
        return Response(PlanSerializer(self.get_queryset().get(pk=plan.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PlanUpdateSerializer, responses={200: PlanSerializer, **ERRORS})
    def partial_update(self, request, *args, **kwargs):
        return super().partial_update(request, *args, **kwargs)

    def update(self, request, *args, **kwargs):
        if not kwargs.get("partial"):
            return Response({"detail": "Use PATCH to edit a plan."}, status=405)
        plan = self.get_object()
        serializer = PlanUpdateSerializer(plan, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        platform.plan_update(plan=plan, actor=request.user, **serializer.validated_data)
        return Response(PlanSerializer(self.get_object()).data)

    @extend_schema(responses={204: None, **DELETE_ERRORS})
    def destroy(self, request, code=None):
        platform.plan_delete(plan=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
