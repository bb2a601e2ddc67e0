"""The HTTP calls of flows: a custom function, or a step's one-off `http_request`. Always through the egress policy
(whatsapp_hub/egress.py: public addresses only, no redirects, timeouts, a response size cap).

A call renders its URL, headers and JSON body with the run's placeholders (values put in the URL are
percent-encoded), sends it, and maps the JSON answer into variables (`response_map`: {variable: JSON path}). What
it returns says what happened in the hub's words: an upstream's body or an exception text is never shown (a
mapped variable is the tenant's own choice of what to read).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests
from django.utils.translation import gettext as _

from automation.flows import templating
from whatsapp_hub import egress

logger = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 256 * 1024
# A `save_to` variable keeps the JSON answer only up to this size (a run's variables live in its row).
SAVED_BODY_MAX = 16 * 1024
CONNECT_TIMEOUT = 3.05
DEFAULT_TIMEOUT_SECONDS = 10
USER_AGENT = "WhatsAppHub-Flows/1.0"


@dataclass
class CallResult:
    ok: bool
    status_code: int | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    duration_ms: int = 0

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "status_code": self.status_code,
            "variables": self.variables,
            "error": self.error,
            "duration_ms": self.duration_ms,
        }


def _render_url(url: str, context: templating.Context) -> str:
    return templating.PLACEHOLDER.sub(
        lambda match: quote(templating.text_of(context.lookup(match.group(1))), safe=""), url
    )


def call(
    *,
    method: str,
    url: str,
    headers: dict[str, str],
    body: Any,
    response_map: dict[str, str],
    timeout_seconds: int,
    context: templating.Context,
    save_to: str | None = None,
) -> CallResult:
    """Make the call (no transaction may be open: it waits on the network). Never raises for what the upstream or
    the policy did: a CallResult with `ok` false and the reason in the hub's words."""
    started = time.monotonic()
    rendered_headers = {name: templating.render_text(value, context) for name, value in headers.items()}
    rendered_headers.setdefault("User-Agent", USER_AGENT)
    kwargs: dict[str, Any] = {"headers": rendered_headers}
    if body is not None and method != "GET":
        kwargs["data"] = json.dumps(templating.render_json(body, context), ensure_ascii=False).encode()
        rendered_headers.setdefault("Content-Type", "application/json")
    target = _render_url(url, context)

    def done(**fields) -> CallResult:
        return CallResult(duration_ms=int((time.monotonic() - started) * 1000), **fields)

    try:
        response = egress.request(
            method,
            target,
            timeout=(CONNECT_TIMEOUT, float(timeout_seconds)),
            max_bytes=MAX_RESPONSE_BYTES,
            **kwargs,
        )
    except egress.EgressError as exc:
        logger.info("flow http: %s %s refused: %s", method, target.split("?", 1)[0], exc)
        return done(ok=False, error=str(exc))
    except requests.Timeout:
        return done(ok=False, error=_("The server did not answer in time."))
    except requests.RequestException as exc:
        logger.info("flow http: %s %s failed: %r", method, target.split("?", 1)[0], exc)
        return done(ok=False, error=_("The server could not be reached."))
    try:
        answer = response.json() if response.content else None
    except ValueError:
        answer = None
    variables = {name: templating.json_path(answer, path) for name, path in response_map.items()}
    if save_to:
        kept = answer if len(response.content) <= SAVED_BODY_MAX else None
        variables[save_to] = {"status": response.status_code, "body": kept}
    if not 200 <= response.status_code < 300:
        # A refusal's body is no answer: only save_to (which holds the status) is kept.
        return done(
            ok=False,
            status_code=response.status_code,
            variables={save_to: variables[save_to]} if save_to else {},
            error=_("The server answered with status %(status)d.") % {"status": response.status_code},
        )
    return done(ok=True, status_code=response.status_code, variables=variables)


def function_headers(function) -> dict[str, str]:
    """A custom function's headers, decrypted ({} when none)."""
    if not function.headers_encrypted:
        return {}
    try:
        headers = json.loads(function.headers_encrypted)
    except ValueError:
        return {}
    return headers if isinstance(headers, dict) else {}


def call_function(function, *, context: templating.Context, save_to: str | None = None) -> CallResult:
    """Call a custom function (automation.models.CustomFunction) with the run's placeholders."""
    return call(
        method=function.method,
        url=function.url,
        headers=function_headers(function),
        body=function.body_template,
        response_map=function.response_map or {},
        timeout_seconds=function.timeout_seconds,
        context=context,
        save_to=save_to,
    )
