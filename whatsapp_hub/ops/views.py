"""GET /api/v1/health (liveness), GET /api/v1/health/ready (readiness) and GET /metrics (Prometheus).

The health routes are for load balancers: no credential, no throttle, nothing of any tenant. /metrics is for the
operator's Prometheus: off (404) unless METRICS_TOKEN or METRICS_ALLOWED_NETWORKS is set; then each one set must
pass (a Bearer token, compared in constant time; the client's address, as throttling reads it behind NUM_PROXIES
proxies), else 403.
"""

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from drf_spectacular.utils import OpenApiResponse, extend_schema
from prometheus_client import CONTENT_TYPE_LATEST
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from whatsapp_hub.ops import health, metrics
from whatsapp_hub.query_params import KnownQueryParamsMixin


class LivenessSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=health.LIVENESS_STATUSES)


class CheckSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=health.CHECK_STATUSES)
    required = serializers.BooleanField(help_text="Whether its failure makes the hub not ready (503).")
    detail = serializers.CharField(required=False, help_text="Why it failed, or why its part is not configured.")
    seconds = serializers.FloatField(required=False, help_text="How long the check took.")


class WorkerCheckSerializer(CheckSerializer):
    workers = serializers.IntegerField(required=False, help_text="Workers whose heartbeat is recent enough.")
    age_seconds = serializers.FloatField(required=False, allow_null=True, help_text="The newest heartbeat's age.")
    max_age_seconds = serializers.FloatField(required=False)


class BeatCheckSerializer(CheckSerializer):
    age_seconds = serializers.FloatField(required=False, allow_null=True, help_text="Since beat last ran.")
    max_age_seconds = serializers.FloatField(required=False)


class IngestLagCheckSerializer(CheckSerializer):
    lag_seconds = serializers.FloatField(required=False, help_text="Age of the oldest webhook event not processed yet.")
    threshold_seconds = serializers.FloatField(required=False)


class ReadinessChecksSerializer(serializers.Serializer):
    database = CheckSerializer()
    redis = CheckSerializer()
    channel_layer = CheckSerializer()
    worker = WorkerCheckSerializer()
    beat = BeatCheckSerializer()
    ingest_lag = IngestLagCheckSerializer()


class ReadinessSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=health.READINESS_STATUSES,
        help_text="ok; degraded: a check not required failed (200); unavailable: a required one failed (503).",
    )
    checks = ReadinessChecksSerializer()


class _Probe(KnownQueryParamsMixin, APIView):
    """No credential, no throttle (a load balancer probes every few seconds from a few addresses); no query
    parameter (a 400 names an unknown one, as on every route)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []


@extend_schema(
    tags=["health"],
    summary="Liveness: the process answers",
    description="Answers 200 as long as the process serves requests; reads no database and no Redis.",
    responses={200: LivenessSerializer},
)
class LivenessView(_Probe):
    def get(self, request):
        return Response({"status": "ok"})


@extend_schema(
    tags=["health"],
    summary="Readiness: the parts the hub needs answer",
    description="The database, Redis, the channel layer, a Celery worker's heartbeat, beat's last run and the "
    "ingest lag, each with its status (`not_configured` never fails: no Redis or tasks run inline). 503 when a "
    "required check fails (HEALTH_REQUIRED_CHECKS: database, redis and channel_layer by default), 200 otherwise "
    "(`degraded` when another one fails). Kept for HEALTH_CACHE_SECONDS.",
    responses={
        200: OpenApiResponse(ReadinessSerializer, description="Ready (ok, or degraded)"),
        503: OpenApiResponse(ReadinessSerializer, description="Not ready: a required check failed"),
    },
)
class ReadinessView(_Probe):
    def get(self, request):
        report = health.ready()
        return Response(report, status=503 if report["status"] == health.UNAVAILABLE else 200)


def _client_address(request: HttpRequest):
    try:
        address = ipaddress.ip_address(BaseThrottle().get_ident(request).strip())
    except ValueError:
        return None
    # An IPv4 client of a server listening on IPv6 shows as ::ffff:a.b.c.d.
    return getattr(address, "ipv4_mapped", None) or address


def metrics_allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return False
    networks = settings.METRICS_ALLOWED_NETWORKS
    if networks:
        address = _client_address(request)
        if address is None or not any(address in network for network in networks):
            return False
    return True


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not (settings.METRICS_TOKEN or settings.METRICS_ALLOWED_NETWORKS):
        return JsonResponse({"detail": "Not found."}, status=404)
    if not metrics_allowed(request):
        return JsonResponse({"detail": "A valid metrics token or an allowed address is required."}, status=403)
    return HttpResponse(metrics.exposition(), content_type=CONTENT_TYPE_LATEST)
