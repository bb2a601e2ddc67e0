"""Dashboard API: the organization's headline figures and its messages per day. Any member may read them; messages,
conversations and numbers are counted on the numbers the reader may see (all for admins), contacts in the whole
organization."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsOrgMember
from accounts.serializers import DetailSerializer
from messaging.selectors import dashboard as selectors
from messaging.selectors.access import request_visible_numbers
from messaging.serializers.dashboard import AnalyticsDaySerializer, AnalyticsQuerySerializer, DashboardStatsSerializer
from whatsapp_hub.query_params import KnownQueryParamsMixin
from whatsapp_hub.routers import api_path
from whatsapp_hub.schema import error_responses

ERRORS = error_responses([(401, "Not authenticated"), (403, "Not allowed")])


@extend_schema(tags=["dashboard"], responses={200: DashboardStatsSerializer, **ERRORS})
class DashboardStatsView(KnownQueryParamsMixin, APIView):
    """Headline figures and the last 7 days. Messages, conversations and numbers are counted on the numbers the
    reader may see (all for admins); contacts in the whole organization."""

    permission_classes = [IsOrgMember]

    def get(self, request):
        stats = selectors.dashboard_stats(org=request.org, number_ids=request_visible_numbers(request))
        return Response(DashboardStatsSerializer(stats).data)


@extend_schema(
    tags=["dashboard"],
    parameters=[AnalyticsQuerySerializer],
    responses={
        200: AnalyticsDaySerializer(many=True),
        400: OpenApiResponse(DetailSerializer, description="Invalid dates, or more than 366 days"),
        **ERRORS,
    },
)
class AnalyticsView(KnownQueryParamsMixin, APIView):
    """Messages per day on the numbers the reader may see (all for admins): sent, received, delivered, read and
    failed, days without messages included."""

    permission_classes = [IsOrgMember]

    def get(self, request):
        query = AnalyticsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        days = selectors.message_analytics(
            org=request.org,
            start=query.validated_data["start_date"],
            end=query.validated_data["end_date"],
            number_ids=request_visible_numbers(request),
        )
        return Response(AnalyticsDaySerializer(days, many=True).data)


urlpatterns = [
    api_path("dashboard/stats", DashboardStatsView.as_view(), name="dashboard-stats"),
    api_path("analytics", AnalyticsView.as_view(), name="analytics"),
]
