"""The fake OpenAI-compatible server speaks OpenAI's documented formats (plain HTTP, no hub code)."""

import math

import pytest
import requests

from tests.fakes.openai import FakeOpenAIServer, default_answer, embedding_of


@pytest.fixture
def fake():
    with FakeOpenAIServer() as server:
        yield server


def _post(fake, path, body, key="sk-any"):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return requests.post(f"{fake.base_url}{path}", json=body, headers=headers, timeout=5)


def _cosine(a, b):
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_a_chat_completion_has_openais_shape(fake):
    response = _post(
        fake, "/chat/completions", {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}
    )

    body = response.json()
    assert response.status_code == 200
    assert body["object"] == "chat.completion"
    assert body["id"].startswith("chatcmpl-")
    assert body["model"] == "gpt-4o-mini"
    assert body["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": 'You asked: "Hi".', "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ]
    assert body["usage"] == {"prompt_tokens": 1, "completion_tokens": 3, "total_tokens": 4}


def test_the_default_answer_quotes_the_question_and_the_closest_line_of_context():
    body = {
        "messages": [
            {"role": "system", "content": "Answer from these passages:\nWe open at 9 am.\nRefunds take 5 days."},
            {"role": "user", "content": "How many days do refunds take?"},
        ]
    }

    assert (
        default_answer(body) == 'You asked: "How many days do refunds take?". From the context: "Refunds take 5 days."'
    )


def test_scripted_answers_come_first_in_order(fake):
    fake.script("first", lambda body: f"second for {body['model']}")
    ask = {"model": "m", "messages": [{"role": "user", "content": "q"}]}

    answers = [_post(fake, "/chat/completions", ask).json()["choices"][0]["message"]["content"] for _ in range(3)]

    assert answers == ["first", "second for m", 'You asked: "q".']


def test_embeddings_have_openais_shape_and_are_deterministic_unit_vectors(fake):
    response = _post(
        fake, "/embeddings", {"model": "text-embedding-3-small", "input": ["refund policy", "opening hours"]}
    )

    body = response.json()
    assert response.status_code == 200
    assert (body["object"], body["model"]) == ("list", "text-embedding-3-small")
    assert [(row["object"], row["index"]) for row in body["data"]] == [("embedding", 0), ("embedding", 1)]
    assert body["data"][0]["embedding"] == embedding_of("refund policy")
    assert len(body["data"][0]["embedding"]) == 64
    assert math.isclose(sum(x * x for x in body["data"][1]["embedding"]), 1.0, rel_tol=1e-4)
    assert body["usage"] == {"prompt_tokens": 4, "total_tokens": 4}


def test_similar_texts_have_closer_embeddings_in_both_languages():
    question = embedding_of("What is your refund policy for orders?")
    assert _cosine(question, embedding_of("Our refund policy: orders are refunded within 5 days")) > _cosine(
        question, embedding_of("The shop opens at nine in the morning")
    )
    arabic = embedding_of("ما هي سياسة الاسترجاع؟")
    assert _cosine(arabic, embedding_of("سياسةُ الاسترجاعِ: خلال خمسة أيام")) > _cosine(
        arabic, embedding_of("نفتح الساعة التاسعة صباحا")
    )


def test_errors_have_openais_error_object(fake):
    missing_key = _post(fake, "/chat/completions", {"model": "m", "messages": []}, key=None)
    fake.models = {"gpt-4o-mini"}
    unknown_model = _post(fake, "/embeddings", {"model": "nope", "input": "x"})
    bad_body = _post(fake, "/chat/completions", {"model": "gpt-4o-mini", "messages": []})

    assert missing_key.status_code == 401
    assert missing_key.json() == {
        "error": {
            "message": "You didn't provide an API key.",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
    }
    assert (unknown_model.status_code, unknown_model.json()["error"]["code"]) == (404, "model_not_found")
    assert (bad_body.status_code, bad_body.json()["error"]["type"]) == (400, "invalid_request_error")


def test_scripted_failures_and_retry_after(fake):
    fake.fail_next(429, times=2, retry_after=3, path_contains="embeddings")
    ask = {"model": "m", "input": "x"}

    first, second, third = (_post(fake, "/embeddings", ask) for _ in range(3))

    assert (first.status_code, first.headers["Retry-After"], first.json()["error"]["code"]) == (
        429,
        "3",
        "rate_limit_exceeded",
    )
    assert second.status_code == 429
    assert third.status_code == 200
    assert len(fake.embedding_requests()) == 3


def test_a_delayed_answer_times_out_a_client(fake):
    fake.delay_next(0.5)

    with pytest.raises(requests.Timeout):
        requests.post(f"{fake.base_url}/embeddings", json={"model": "m", "input": "x"}, timeout=(1, 0.1))
