from django.shortcuts import render
from django.urls import path

from accounts.web import member_required
from messaging.selectors.access import request_visible_numbers
from messaging.selectors.dashboard import dashboard_stats


@member_required
def dashboard(request):
    stats = dashboard_stats(org=request.org, number_ids=request_visible_numbers(request))
    chart = {
        "labels": [day["date"].isoformat() for day in stats["analytics"]],
        "sent": [day["sent"] for day in stats["analytics"]],
        "received": [day["received"] for day in stats["analytics"]],
    }
    return render(request, "messaging/dashboard.html", {"stats": stats, "chart": chart})


urlpatterns = [path("dashboard/", dashboard, name="dashboard")]
