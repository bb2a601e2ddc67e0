"""The reports page: performance per agent, team and number over a range of days, a chart of the messages per day,
filters (dates, number, team) and CSV exports. Reads through the same selectors as the API (messaging.api.dashboard);
the filters are parsed by the API's own query serializer."""

from urllib.parse import urlencode

from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import org_settings
from accounts.models import Team
from accounts.web import member_required
from messaging.selectors import reports
from messaging.selectors.access import request_visible_numbers
from messaging.selectors.dashboard import message_analytics, organization_today
from messaging.selectors.numbers import number_list
from messaging.serializers.dashboard import ReportQuerySerializer
from messaging.views.dashboard import chart_of
from whatsapp_hub.errors import ServiceError

SECTIONS = (
    ("agents", gettext_lazy("Agents"), gettext_lazy("Agent")),
    ("teams", gettext_lazy("Teams"), gettext_lazy("Team")),
    ("numbers", gettext_lazy("Numbers"), gettext_lazy("Number")),
)


def duration(seconds: float | None) -> str:
    """A time in seconds as people read it: 45 s, 12 min, 2 h 05 min, 3 d 4 h."""
    if seconds is None:
        return "—"
    seconds = round(seconds)
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 60:
        return _("%(seconds)d s") % {"seconds": seconds}
    if seconds < 3600:
        return _("%(minutes)d min") % {"minutes": minutes}
    if seconds < 86400:
        return _("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": minutes % 60}
    return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours % 24}


def _scope(request, errors: list[str]) -> reports.ReportScope:
    today = organization_today(request.org)
    query = ReportQuerySerializer(data=request.GET, context={"today": today})
    if not query.is_valid():
        errors += [f"{field}: {messages[0]}" for field, messages in query.errors.items()]
        query = ReportQuerySerializer(data={}, context={"today": today})
        query.is_valid(raise_exception=True)
    values = query.validated_data
    try:
        return reports.report_scope_or_error(
            org=request.org,
            start=values["start_date"],
            end=values["end_date"],
            number_ids=request_visible_numbers(request),
            number_id=values.get("number"),
            team_id=values.get("team"),
            business_hours=values["business_hours"],
        )
    except ServiceError as exc:
        errors.append(exc.detail)
        return reports.ReportScope(
            org=request.org,
            start=values["start_date"],
            end=values["end_date"],
            number_ids=request_visible_numbers(request),
        )


@member_required
def reports_page(request):
    numbers = list(number_list(org=request.org, number_ids=request_visible_numbers(request)))
    teams = list(Team.objects.for_org(request.org))
    errors: list[str] = []
    scope = _scope(request, errors)
    days = message_analytics(
        org=request.org,
        start=scope.start,
        end=scope.end,
        number_ids=frozenset({scope.number_id}) if scope.number_id else scope.number_ids,
    )
    dates = {"start_date": scope.start.isoformat(), "end_date": scope.end.isoformat()}
    query = dict(dates)
    query.update({key: value for key, value in (("number", scope.number_id), ("team", scope.team_id)) if value})
    if scope.business_hours:
        query["business_hours"] = "true"
    sections = []
    for grouping, title, column in SECTIONS:
        rows = reports.performance_report(scope=scope, grouping=grouping)
        for row in rows:
            row["times"] = [
                duration(row[name])
                for name in ("first_response_median", "first_response_p90", "resolution_median", "resolution_p90")
            ]
        export = f"{reverse(f'reports-{grouping}-export')}?{urlencode(query)}"
        sections.append({"key": grouping, "title": title, "column": column, "rows": rows, "export": export})
    context = {
        "scope": scope,
        "numbers": numbers,
        "teams": teams,
        "errors": errors,
        "sections": sections,
        "chart": chart_of(days),
        "days": days,
        # Messages per day are the same within business hours or not: only the number and team filters hide it.
        "analytics_export": f"{reverse('analytics-export')}?{urlencode(dates | {'metrics': 'messages'})}"
        if "number" not in query and "team" not in query
        else None,
        "has_business_hours": bool(org_settings.business_hours(request.org.settings)),
    }
    return render(request, "messaging/reports.html", context)


urlpatterns = [path("reports/", reports_page, name="reports")]
