"""Django's debug pages (traceback, settings, URL patterns) for this machine only.

With DEBUG on, Django answers a failed request with a debug page. A client not in INTERNAL_IPS, or one that comes
through a proxy (a forwarding header: the proxy's own address says nothing of the client behind it), gets what
production answers instead: the JSON error of whatsapp_hub.errors. Start-up already refuses DEBUG with public
hosts (whatsapp_hub.embedded); this covers a local run reachable from the network (bound to 0.0.0.0: any client
may send `Host: localhost`).
"""

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils.decorators import sync_and_async_middleware
from rest_framework.response import Response

from whatsapp_hub import errors

FORWARDING_HEADERS = ("HTTP_FORWARDED", "HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP")
# The statuses Django answers with a debug page when DEBUG is on (400: a SuspiciousOperation such as a bad Host
# header, or BadRequest), and the answer of production for each.
PRODUCTION_ERRORS = {400: errors.bad_request, 404: errors.page_not_found, 500: errors.server_error}


def is_internal_client(request: HttpRequest) -> bool:
    """The client is this machine (or INTERNAL_IPS) and no proxy stands between."""
    return request.META.get("REMOTE_ADDR") in settings.INTERNAL_IPS and not any(
        name in request.META for name in FORWARDING_HEADERS
    )


def _for_client(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    handler = PRODUCTION_ERRORS.get(response.status_code)
    if (
        handler is None
        or not settings.DEBUG
        or isinstance(response, Response)  # DRF's answers are never debug pages
        or response.get("Content-Type", "").startswith("application/json")
        or is_internal_client(request)
    ):
        return response
    return handler(request)


@sync_and_async_middleware
def debug_pages_for_internal_clients_only(get_response):
    # Both flavours: a sync-only middleware would cost every ASGI request a thread switch.
    if iscoroutinefunction(get_response):

        async def middleware(request):
            return _for_client(request, await get_response(request))

        return middleware

    def middleware(request):
        return _for_client(request, get_response(request))

    return middleware
