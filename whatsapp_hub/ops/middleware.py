"""The request id of every HTTP request (context.py): the proxy's X-Request-ID when well formed, else a new one;
bound while the request runs and returned in the response's X-Request-ID."""

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest
from django.utils.decorators import sync_and_async_middleware

from whatsapp_hub.ops import context

_META_HEADER = "HTTP_" + context.HEADER.upper().replace("-", "_")


def _request_id(request: HttpRequest) -> str:
    request_id = context.well_formed(request.META.get(_META_HEADER)) or context.new()
    request.request_id = request_id
    return request_id


@sync_and_async_middleware
def request_id(get_response):
    # Outermost (settings.MIDDLEWARE): the answers of the middleware below, errors included, carry the id too.
    if iscoroutinefunction(get_response):

        async def middleware(request):
            with context.bound(_request_id(request)):
                response = await get_response(request)
            response[context.HEADER] = request.request_id
            return response

        return middleware

    def middleware(request):
        with context.bound(_request_id(request)):
            response = get_response(request)
        response[context.HEADER] = request.request_id
        return response

    return middleware
