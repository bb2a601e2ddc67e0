"""The LLM client (automation/llm.py) against the fake OpenAI-compatible server: request shapes, retries, typed
errors, the egress policy for a tenant's base URL, and token usage per organization and day."""

import time
from datetime import UTC, datetime

import pytest

from automation import llm
from automation.models.ai import AISettings, AIUsage
from automation.services.ai import ai_settings_save
from tests.fakes.server import Response
from whatsapp_hub.errors import ServiceError

HELLO = [{"role": "user", "content": "Hello there"}]


@pytest.fixture
def configured(org, fake_openai):
    ai_settings_save(organization=org, actor=None, api_key="sk-test-1234", embedding_model="text-embedding-3-small")
    return org


@pytest.fixture
def fast_backoff(monkeypatch):
    monkeypatch.setattr(llm, "BACKOFF_BASE", 0.01)


def test_chat_posts_openais_body_and_returns_the_answer(configured, fake_openai):
    fake_openai.script("Hi! How can I help?")

    result = llm.chat(organization=configured, messages=HELLO, temperature=0.2, max_tokens=50)

    assert result == llm.ChatResult(
        text="Hi! How can I help?", model="gpt-4o-mini", prompt_tokens=2, completion_tokens=5
    )
    [request] = fake_openai.find_requests(method="POST", path="/v1/chat/completions")
    assert request.json == {"model": "gpt-4o-mini", "messages": HELLO, "temperature": 0.2, "max_tokens": 50}
    assert request.headers["Authorization"] == "Bearer sk-test-1234"


def test_chat_leaves_out_what_the_caller_did_not_choose_and_takes_another_model(configured, fake_openai):
    result = llm.chat(organization=configured, messages=HELLO, model="gpt-4o")

    assert result.model == "gpt-4o"
    assert result.text == 'You asked: "Hello there".'
    assert fake_openai.chat_requests() == [{"model": "gpt-4o", "messages": HELLO}]


def test_usage_is_added_up_per_organization_day_and_model(configured, other_org, fake_openai):
    ai_settings_save(organization=other_org, actor=None, api_key="sk-other")
    llm.chat(organization=configured, messages=HELLO)
    llm.chat(organization=configured, messages=[{"role": "user", "content": "one two three"}])
    llm.embed(organization=configured, texts=["alpha beta", "gamma"])
    llm.chat(organization=other_org, messages=HELLO)

    rows = AIUsage.objects.for_org(configured).order_by("model")
    assert [(r.model, r.prompt_tokens, r.completion_tokens, r.requests) for r in rows] == [
        ("gpt-4o-mini", 5, 9, 2),  # the default answers: "You asked:" and the question (4 + 5 words)
        ("text-embedding-3-small", 3, 0, 1),
    ]
    assert [(r.model, r.requests) for r in AIUsage.objects.for_org(other_org)] == [("gpt-4o-mini", 1)]


def test_usage_is_counted_on_the_organizations_own_day(configured, fake_openai, time_machine):
    configured.settings = {"timezone": "Asia/Riyadh"}  # UTC+3
    configured.save()
    time_machine.move_to(datetime(2026, 3, 1, 22, 30, tzinfo=UTC), tick=False)

    llm.chat(organization=configured, messages=HELLO)

    assert [str(r.day) for r in AIUsage.objects.for_org(configured)] == ["2026-03-02"]


def test_embed_returns_one_vector_per_text_in_order_in_batches(configured, fake_openai):
    texts = [f"text number {i}" for i in range(llm.EMBED_BATCH + 3)]

    vectors = llm.embed(organization=configured, texts=texts)

    assert len(vectors) == len(texts)
    assert {len(v) for v in vectors} == {64}
    assert [len(body["input"]) for body in fake_openai.embedding_requests()] == [llm.EMBED_BATCH, 3]
    assert vectors[5] == llm.embed(organization=configured, texts=["text number 5"])[0]


def test_without_a_key_nothing_is_configured_and_nothing_is_sent(org, fake_openai):
    assert llm.is_configured(org) is False
    assert llm.embeddings_configured(org) is False
    with pytest.raises(llm.LLMNotConfigured) as caught:
        llm.chat(organization=org, messages=HELLO)
    assert caught.value.status_code == 400
    with pytest.raises(llm.LLMNotConfigured):
        llm.embed(organization=org, texts=["x"])
    assert fake_openai.requests == []


def test_embeddings_need_an_embedding_model(org, fake_openai):
    ai_settings_save(organization=org, actor=None, api_key="sk-test")

    assert (llm.is_configured(org), llm.embeddings_configured(org)) == (True, False)
    with pytest.raises(llm.LLMNotConfigured):
        llm.embed(organization=org, texts=["x"])


def test_a_429_is_retried_after_the_wait_the_provider_asks(configured, fake_openai):
    fake_openai.fail_next(429, retry_after=1)
    started = time.monotonic()

    result = llm.chat(organization=configured, messages=HELLO)

    assert time.monotonic() - started >= 1.0
    assert result.text == 'You asked: "Hello there".'
    assert len(fake_openai.chat_requests()) == 2


def test_a_provider_asking_for_a_long_wait_gets_a_retryable_error_at_once(configured, fake_openai):
    fake_openai.fail_next(429, retry_after=600)

    with pytest.raises(llm.LLMError) as caught:
        llm.chat(organization=configured, messages=HELLO)

    assert (caught.value.code, caught.value.retryable) == ("llm_rate_limited", True)
    assert len(fake_openai.chat_requests()) == 1


def test_5xx_are_retried_with_backoff(configured, fake_openai, fast_backoff):
    fake_openai.fail_next(503, times=2)

    assert llm.chat(organization=configured, messages=HELLO).text == 'You asked: "Hello there".'
    assert len(fake_openai.chat_requests()) == 3


def test_an_outage_ends_in_a_retryable_error_that_shows_no_upstream_text(configured, fake_openai, fast_backoff):
    fake_openai.fail_next(500, times=5)

    with pytest.raises(llm.LLMError) as caught:
        llm.chat(organization=configured, messages=HELLO)

    assert caught.value.retryable is True
    assert caught.value.detail == "The AI provider is unavailable; try again later."
    assert caught.value.status_code == 502
    assert len(fake_openai.chat_requests()) == llm.MAX_ATTEMPTS
    assert AIUsage.objects.count() == 0


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (401, None, "llm_auth"),
        (404, "model_not_found", "llm_not_found"),
        (400, None, "llm_rejected"),
        (429, "insufficient_quota", "llm_quota"),
    ],
)
def test_permanent_refusals_are_not_retried(configured, fake_openai, status, code, expected):
    fake_openai.fail_next(status, code=code, message="sk-secret upstream words")

    with pytest.raises(llm.LLMError) as caught:
        llm.chat(organization=configured, messages=HELLO)

    assert (caught.value.code, caught.value.retryable) == (expected, False)
    assert "upstream" not in caught.value.detail
    assert len(fake_openai.chat_requests()) == 1


def test_a_wrong_key_is_refused_by_the_provider(configured, fake_openai):
    fake_openai.api_key = "sk-the-right-one"

    with pytest.raises(llm.LLMError) as caught:
        llm.embed(organization=configured, texts=["x"])

    assert caught.value.code == "llm_auth"


def test_a_slow_provider_times_out_and_is_retried(configured, fake_openai, fast_backoff, monkeypatch):
    monkeypatch.setattr(llm, "CHAT_TIMEOUT", (1.0, 0.3))
    fake_openai.delay_next(1.0, times=1)

    assert llm.chat(organization=configured, messages=HELLO).text == 'You asked: "Hello there".'
    assert len(fake_openai.chat_requests()) == 2


def test_a_provider_that_never_answers_in_time_ends_in_a_timeout_error(
    configured, fake_openai, fast_backoff, monkeypatch
):
    monkeypatch.setattr(llm, "CHAT_TIMEOUT", (1.0, 0.2))
    fake_openai.delay_next(0.6, times=llm.MAX_ATTEMPTS)

    with pytest.raises(llm.LLMError) as caught:
        llm.chat(organization=configured, messages=HELLO)

    assert (caught.value.code, caught.value.retryable) == ("llm_timeout", True)


def test_an_unreadable_answer_is_an_error(configured, fake_openai):
    fake_openai.script(Response(200, b"<html>proxy page</html>", "text/html"))

    with pytest.raises(llm.LLMError) as caught:
        llm.chat(organization=configured, messages=HELLO)

    assert (caught.value.code, caught.value.retryable) == ("llm_bad_answer", False)


def test_a_tenant_base_url_goes_through_egress_and_may_need_no_key(org, fake_openai, settings):
    settings.OPENAI_BASE_URL = "http://127.0.0.1:9/v1"  # the operator's default is elsewhere
    fake_openai.require_key = False  # as a local Ollama server
    ai_settings_save(organization=org, actor=None, base_url=fake_openai.base_url + "/")

    assert llm.is_configured(org) is True
    assert llm.chat(organization=org, messages=HELLO).text == 'You asked: "Hello there".'
    [request] = fake_openai.find_requests(path="/v1/chat/completions")
    assert "Authorization" not in request.headers
    assert AISettings.objects.get(organization=org).base_url == fake_openai.base_url


def test_a_private_base_url_is_refused_when_saved(org, scripted_server):
    with pytest.raises(ServiceError) as caught:
        ai_settings_save(organization=org, actor=None, base_url=f"{scripted_server.url}/v1")

    assert list(caught.value.errors) == ["base_url"]
    assert AISettings.objects.count() == 0


def test_a_private_base_url_is_refused_at_request_time_too(org, scripted_server):
    """A row written before the operator removed the host from the allow-list: the connect-time check holds."""
    AISettings.objects.create(organization=org, base_url=f"{scripted_server.url}/v1", api_key="sk-x")

    with pytest.raises(llm.LLMError) as caught:
        llm.chat(organization=org, messages=HELLO)

    assert (caught.value.code, caught.value.retryable) == ("llm_address_refused", False)
    assert scripted_server.requests == []


def test_a_redirect_is_not_followed(org, scripted_server, settings):
    settings.OPENAI_BASE_URL = f"{scripted_server.url}/v1"
    AISettings.objects.create(organization=org, api_key="sk-x")
    scripted_server.default = Response(302, b"", "text/plain", {"Location": "http://169.254.169.254/"})

    with pytest.raises(llm.LLMError) as caught:
        llm.chat(organization=org, messages=HELLO)

    assert caught.value.code == "llm_address_refused"
    assert len(scripted_server.requests) == 1
