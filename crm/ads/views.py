"""The Ads tab of the CRM area (deals/ads/): per ad what it brought over a range of days (a table), and conversations
started per day per ad (a chart, static/js/crm-ads.js with the vendored Chart.js, as the dashboard draws its chart);
an ad's page with its creative and its days. Reads through crm.ads.selectors, as GET ads/ does; the range is checked
by the same serializer (a bad date shows next to the picker, the default range is used)."""

from datetime import timedelta

from django.http import Http404
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from accounts.web import member_required, organization_time_zone
from crm.ads import selectors
from crm.ads.models import Ad
from crm.ads.serializers import AdsQuerySerializer
from crm.serializers import money
from messaging.selectors.access import request_visible_numbers

CHART_ADS = 8  # the chart's lines: the ads that started the most conversations


def _range(request) -> tuple[dict, list[str]]:
    """The range the page shows, and what was wrong with the one asked for (then the default one)."""
    tz = organization_time_zone(request.org)
    asked = {name: request.GET[name] for name in ("start_date", "end_date") if request.GET.get(name)}
    query = AdsQuerySerializer(data=asked)
    errors: list[str] = []
    if not query.is_valid():
        errors = [str(message) for messages in query.errors.values() for message in messages]
        query = AdsQuerySerializer(data={})
        query.is_valid(raise_exception=True)
    return {"start": query.validated_data["start_date"], "end": query.validated_data["end_date"], "tz": tz}, errors


def duration(value: timedelta | None) -> str:
    """A response time as people read it: "45 s", "6 min 5 s", "2 h 10 min", "3 d 4 h"."""
    if value is None:
        return "—"
    seconds = round(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return _("%(d)d d %(h)d h") % {"d": days, "h": hours}
    if hours:
        return _("%(h)d h %(m)d min") % {"h": hours, "m": minutes}
    if minutes:
        return _("%(m)d min %(s)d s") % {"m": minutes, "s": seconds}
    return _("%(s)d s") % {"s": seconds}


def _shown(ad: Ad) -> Ad:
    ad.median_shown = duration(ad.median_first_response)
    ad.won_shown = [f"{money(row['value'], row['currency'])} {row['currency']}" for row in ad.won_values]
    return ad


def _name(ad: Ad) -> str:
    return ad.headline or f"{ad.get_source_type_display()} {ad.source_id}"


@require_safe
@member_required
def ads_page(request):
    span, errors = _range(request)
    number_ids = request_visible_numbers(request)
    ads = [_shown(ad) for ad in selectors.ad_figures(org=request.org, number_ids=number_ids, **span)]
    charted = [ad for ad in ads if ad.conversations_started][:CHART_ADS]
    days = selectors.ad_days(org=request.org, number_ids=number_ids, **span)
    per_ad = {ad.pk: {} for ad in charted}
    for row in days:  # one row per day and ad: the aggregated cells, not messages
        if row["ad_id"] in per_ad:
            per_ad[row["ad_id"]][row["date"]] = row["conversations_started"]
    labels = [span["start"] + timedelta(days=n) for n in range((span["end"] - span["start"]).days + 1)]
    chart = {
        "labels": [day.isoformat() for day in labels],
        "series": [{"label": _name(ad), "data": [per_ad[ad.pk].get(day, 0) for day in labels]} for ad in charted],
    }
    return render(
        request,
        "crm/ads.html",
        {"ads": ads, "chart": chart, "span": span, "errors": errors, "query": request.GET.urlencode()},
    )


@require_safe
@member_required
def ad_page(request, ad_id: int):
    ad = selectors.ad_list(org=request.org).filter(pk=ad_id).first()
    if ad is None:
        raise Http404
    span, errors = _range(request)
    number_ids = request_visible_numbers(request)
    [ad] = selectors.ad_figures(org=request.org, number_ids=number_ids, ad=ad, **span)
    days = selectors.ad_days(org=request.org, number_ids=number_ids, ad=ad, **span)
    chart = {
        "labels": [row["date"].isoformat() for row in days],
        "series": [
            {"label": _("Conversations started"), "data": [row["conversations_started"] for row in days]},
            {"label": _("New contacts"), "data": [row["new_contacts"] for row in days]},
        ],
    }
    return render(
        request,
        "crm/ad.html",
        {"ad": _shown(ad), "name": _name(ad), "days": days, "chart": chart, "span": span, "errors": errors},
    )


urlpatterns = [
    path("deals/ads/", ads_page, name="crm-ads"),
    path("deals/ads/<id:ad_id>/", ad_page, name="crm-ad"),
]
