"""Dashboard API: the organization's headline figures, its figures per day (analytics) and the performance reports
per agent, team and number, each with a CSV export. Any member may read them; messages, conversations and numbers
are counted on the numbers the reader may see (all for admins), contacts in the whole organization."""

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsOrgMember
from accounts.serializers import DetailSerializer
from messaging.selectors import dashboard as selectors
from messaging.selectors import reports
from messaging.selectors.access import request_visible_numbers
from messaging.selectors.dashboard import DAILY_FIELDS, organization_today
from messaging.serializers.dashboard import (
    METRIC_SERIALIZERS,
    AnalyticsQuerySerializer,
    DashboardStatsSerializer,
    ReportQuerySerializer,
    ReportRowSerializer,
)
from whatsapp_hub.csv_export import csv_stream
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


ANALYTICS_DAYS = PolymorphicProxySerializer(
    component_name="AnalyticsDays",
    serializers=[serializer(many=True) for serializer in METRIC_SERIALIZERS.values()],
    resource_type_field_name=None,
    many=False,
)
RANGE_ERRORS = {
    400: OpenApiResponse(DetailSerializer, description="Invalid parameters, or more than 366 days"),
    **ERRORS,
}


def csv_response(*, filename: str, columns: list[str], rows: list[dict]) -> StreamingHttpResponse:
    """`rows` as a CSV attachment (whatsapp_hub.csv_export: BOM, formula-safe), a column per key of `columns`."""
    cells = ([("" if row[name] is None else str(row[name])) for name in columns] for row in rows)
    response = StreamingHttpResponse(csv_stream(columns, cells), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}-{timezone.now():%Y%m%d-%H%M%S}.csv"'
    return response


class AnalyticsView(KnownQueryParamsMixin, APIView):
    """Figures per day, in the organization's time zone, days without any included. `metrics=messages` (the
    default): messages sent, received, delivered, read and failed on the numbers the reader may see (all for
    admins); `contacts`: contacts created and opted out; `broadcasts`: broadcasts started, their messages sent,
    delivered and read."""

    permission_classes = [IsOrgMember]

    def days(self, request) -> tuple[str, list[dict]]:
        query = AnalyticsQuerySerializer(data=request.query_params, context={"today": organization_today(request.org)})
        query.is_valid(raise_exception=True)
        metric = query.validated_data["metrics"]
        days = selectors.analytics(
            org=request.org,
            metric=metric,
            start=query.validated_data["start_date"],
            end=query.validated_data["end_date"],
            number_ids=request_visible_numbers(request),
        )
        return metric, days

    @extend_schema(
        tags=["dashboard"], parameters=[AnalyticsQuerySerializer], responses={200: ANALYTICS_DAYS, **RANGE_ERRORS}
    )
    def get(self, request):
        metric, days = self.days(request)
        return Response(METRIC_SERIALIZERS[metric](days, many=True).data)


class AnalyticsExportView(AnalyticsView):
    @extend_schema(
        tags=["dashboard"],
        parameters=[AnalyticsQuerySerializer],
        responses={(200, "text/csv"): OpenApiResponse(description="date, then the metric's figures"), **RANGE_ERRORS},
    )
    def get(self, request):
        """The analytics days as a CSV attachment (UTF-8 with a BOM)."""
        metric, days = self.days(request)
        return csv_response(filename=f"analytics-{metric}", columns=["date", *DAILY_FIELDS[metric]], rows=days)


class ReportView(KnownQueryParamsMixin, APIView):
    """Performance per agent, team or number over a range of days (messaging/selectors/reports.py has the
    definitions): conversations handled, messages sent, first response and resolution times (median and 90th
    percentile, in seconds), the times optionally only within the organization's business hours. Rows of the
    numbers the reader may see (all for admins)."""

    permission_classes = [IsOrgMember]
    grouping = "agents"

    def rows(self, request) -> list[dict]:
        query = ReportQuerySerializer(data=request.query_params, context={"today": organization_today(request.org)})
        query.is_valid(raise_exception=True)
        scope = reports.report_scope_or_error(
            org=request.org,
            start=query.validated_data["start_date"],
            end=query.validated_data["end_date"],
            number_ids=request_visible_numbers(request),
            number_id=query.validated_data.get("number"),
            team_id=query.validated_data.get("team"),
            business_hours=query.validated_data["business_hours"],
        )
        return reports.performance_report(scope=scope, grouping=self.grouping)

    @extend_schema(
        tags=["reports"],
        parameters=[ReportQuerySerializer],
        responses={200: ReportRowSerializer(many=True), **RANGE_ERRORS},
    )
    def get(self, request):
        return Response(ReportRowSerializer(self.rows(request), many=True).data)


class ReportExportView(ReportView):
    @extend_schema(
        tags=["reports"],
        parameters=[ReportQuerySerializer],
        responses={
            (200, "text/csv"): OpenApiResponse(description="id, name, then the report's figures"),
            **RANGE_ERRORS,
        },
    )
    def get(self, request):
        """The report as a CSV attachment (UTF-8 with a BOM: spreadsheets read Arabic names right)."""
        return csv_response(
            filename=f"report-{self.grouping}", columns=["id", "name", *reports.FIELDS], rows=self.rows(request)
        )


urlpatterns = [
    api_path("dashboard/stats", DashboardStatsView.as_view(), name="dashboard-stats"),
    api_path("analytics", AnalyticsView.as_view(), name="analytics"),
    api_path("analytics/export", AnalyticsExportView.as_view(), name="analytics-export"),
    *(
        path
        for grouping in reports.GROUPINGS
        for path in (
            api_path(f"reports/{grouping}", ReportView.as_view(grouping=grouping), name=f"reports-{grouping}"),
            api_path(
                f"reports/{grouping}/export",
                ReportExportView.as_view(grouping=grouping),
                name=f"reports-{grouping}-export",
            ),
        )
    ),
]
