from django.shortcuts import render
from django.urls import path

from accounts.web import member_required
from messaging.selectors.access import request_visible_numbers
from messaging.selectors.dashboard import dashboard_stats


def chart_of(days: list[dict]) -> dict:
    """The data of the messages chart (messaging/_messages_chart.html, static/js/dashboard.js) of analytics days."""
    return {
        "labels": [day["date"].isoformat() for day in days],
        "sent": [day["sent"] for day in days],
        "received": [day["received"] for day in days],
    }


@member_required
def dashboard(request):
    stats = dashboard_stats(org=request.org, number_ids=request_visible_numbers(request))
    return render(request, "messaging/dashboard.html", {"stats": stats, "chart": chart_of(stats["analytics"])})


urlpatterns = [path("dashboard/", dashboard, name="dashboard")]
