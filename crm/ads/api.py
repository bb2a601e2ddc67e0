"""Ads API (seed `ads`): GET ads/ (every ad with something in the range, with its figures) and GET ads/{id} (one
ad, its figures and its days). Any member reads them; conversations and messages count on the numbers the reader
may see."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.response import Response

from accounts.viewsets import TenantScopedMixin
from accounts.web import organization_time_zone
from crm.ads import selectors
from crm.ads.serializers import AdDetailSerializer, AdFiguresSerializer, AdReportSerializer, AdsQuerySerializer
from messaging.selectors.access import request_visible_numbers
from whatsapp_hub.schema import error_responses

ERRORS = error_responses(
    [(400, "Invalid dates, or more than 366 days"), (401, "Not authenticated"), (403, "Not allowed")]
)


def ad_range(request) -> dict:
    """The validated range of a request (a 400 naming the bad date), days in the organization's time zone."""
    tz = organization_time_zone(request.org)
    with timezone.override(tz):  # the default end is today there
        query = AdsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
    return {"start": query.validated_data["start_date"], "end": query.validated_data["end_date"], "tz": tz}


def _range_fields(span: dict) -> dict:
    return {"start_date": span["start"], "end_date": span["end"], "time_zone": span["tz"].key}


@extend_schema(tags=["crm"], parameters=[AdsQuerySerializer])
class AdViewSet(TenantScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Click-to-WhatsApp ads (seed `ads`), registered from the referral Meta puts on a customer's first message from
    an ad, and what each brought over a range of days (`start_date`, `end_date`, in the organization's time zone):
    referrals, conversations started, new contacts, their messages and agent replies, the median first response,
    deals created and won (values per currency)."""

    serializer_class = AdFiguresSerializer
    lookup_value_regex = r"\d{1,18}"
    pagination_class = None
    selector = staticmethod(selectors.ad_list)

    @extend_schema(responses={200: AdReportSerializer, **ERRORS})
    def list(self, request):
        span = ad_range(request)
        ads = selectors.ad_figures(org=request.org, number_ids=request_visible_numbers(request), **span)
        return Response(AdReportSerializer({**_range_fields(span), "results": ads}).data)

    @extend_schema(responses={200: AdDetailSerializer, **error_responses([(404, "Not found")]), **ERRORS})
    def retrieve(self, request, pk=None):
        ad = self.get_object()
        span = ad_range(request)
        number_ids = request_visible_numbers(request)
        [ad] = selectors.ad_figures(org=request.org, number_ids=number_ids, ad=ad, **span)
        ad.days = selectors.ad_days(org=request.org, number_ids=number_ids, ad=ad, **span)
        for name, value in _range_fields(span).items():
            setattr(ad, name, value)
        return Response(AdDetailSerializer(ad).data)
