"""One error shape for the whole API: {"detail": ...}, plus "errors" for validation (400)."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext
from rest_framework import exceptions
from rest_framework.response import Response

from whatsapp_hub.parsers import RequestTooLarge


class ServiceError(Exception):
    """A refused action or a user mistake raised by a service; the API answers it as a 4xx.

    `errors` maps field names to messages when the mistake belongs to an input field; `headers` go on the answer
    (Retry-After).
    """

    def __init__(
        self,
        detail: str,
        *,
        status_code: int = 400,
        code: str = "invalid",
        errors: dict | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(detail)
        self.headers = headers or {}
        self.detail = detail
        self.status_code = status_code
        self.code = code
        self.errors = errors


def _flatten_first(errors) -> str | None:
    """The first message of a (possibly nested) DRF error structure, prefixed by its field."""
    if isinstance(errors, dict):
        for field, value in errors.items():
            message = _flatten_first(value)
            if message:
                return message if field in {"non_field_errors", "detail"} else f"{field}: {message}"
    elif isinstance(errors, list):
        for value in errors:
            message = _flatten_first(value)
            if message:
                return message
    elif errors:
        return str(errors)
    return None


def _validation_body(errors) -> dict:
    if not isinstance(errors, dict):
        errors = {"non_field_errors": errors if isinstance(errors, list) else [errors]}
    return {"detail": _flatten_first(errors) or "Invalid input.", "errors": errors}


def invalid_input(errors: dict) -> ServiceError:
    """The 400 of invalid input checked outside a view (`errors` as a serializer gives them: {field: [messages]},
    nested for nested input), shaped like the API's own validation errors."""
    return ServiceError(_flatten_first(errors) or "Invalid input.", errors=errors)


def api_exception_handler(exc, context):
    # Imported here: rest_framework.views loads the authentication classes, which import services, which import
    # ServiceError from this module; a module-level import would make that depend on who imports first.
    from rest_framework.views import exception_handler

    if isinstance(exc, ServiceError):
        body = {"detail": exc.detail, "code": exc.code}
        if exc.errors:
            body["errors"] = exc.errors
        return Response(body, status=exc.status_code, headers=exc.headers)
    if isinstance(exc, RequestDataTooBig):
        # DRF reads JSON and form bodies through request.body, so Django's own limit trips
        # before LimitedJSONParser sees the stream: the same 413, not Django's generic 400.
        exc = RequestTooLarge(f"Request body too large (at most {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes).")
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = _validation_body(response.data)
    elif not (isinstance(response.data, dict) and "detail" in response.data):
        response.data = {"detail": _flatten_first(response.data) or "Error."}
    return response


# Machines' paths answer JSON; everything else is a page of the web app and answers a page.
MACHINE_PATHS = ("/api/", "/webhooks/", "/ws/")


def _error(request, status: int, detail: str, title: str) -> HttpResponse:
    if request.path.startswith(MACHINE_PATHS):
        return JsonResponse({"detail": detail}, status=status)
    # No request context: the page must render even when the database or the Host header is what failed.
    return HttpResponse(
        render_to_string("error.html", {"status": status, "title": title, "detail": detail}), status=status
    )


def bad_request(request, exception=None):
    return _error(request, 400, str(exception) if exception else "Bad request.", gettext("Bad request"))


def permission_denied(request, exception=None):
    return _error(
        request, 403, "You do not have permission to perform this action.", gettext("You can't open this page")
    )


def page_not_found(request, exception=None):
    return _error(request, 404, "Not found.", gettext("Page not found"))


def server_error(request):
    return _error(request, 500, "Internal server error.", gettext("Something went wrong on our side"))
