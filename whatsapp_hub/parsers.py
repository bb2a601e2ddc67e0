import io

from django.conf import settings
from rest_framework import exceptions, parsers


class RequestTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "Request body too large."
    default_code = "too_large"


class LimitedJSONParser(parsers.JSONParser):
    """JSON parser that refuses bodies over DATA_UPLOAD_MAX_MEMORY_SIZE with a 413.

    DRF streams JSON bodies straight from the request, so Django's own limit never applies.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise RequestTooLarge(f"Request body too large (at most {limit} bytes).")
        if not body:
            raise exceptions.ParseError("JSON parse error - empty body.")
        return super().parse(io.BytesIO(body), media_type, parser_context)
