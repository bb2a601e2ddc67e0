"""A fake OpenAI-compatible API on 127.0.0.1: chat completions and embeddings in OpenAI's documented formats.

- `POST /v1/chat/completions` `{model, messages, temperature?, max_tokens?}` → `{id, object: "chat.completion",
  created, model, choices: [{index, message: {role: "assistant", content}, finish_reason: "stop"}], usage:
  {prompt_tokens, completion_tokens, total_tokens}}`. The answer is the next scripted one (`fake.script(...)`: a
  text, a `Response`, or a function of the request body returning either), else `fake.answer(body)` (settable),
  by default `default_answer`: deterministic, it quotes the last user message and the line of the other messages
  (the system prompt, retrieved passages) that shares most words with it.
- `POST /v1/embeddings` `{model, input: str | [str]}` → `{object: "list", data: [{object: "embedding", index,
  embedding}], model, usage: {prompt_tokens, total_tokens}}`. Vectors are deterministic per text: a hashed bag of its
  normalised words in DIMENSIONS dimensions, unit length, so texts sharing words are near each other.
- `GET /v1/models` lists `fake.models` (or a default list).
- Errors in OpenAI's shape `{"error": {"message", "type", "param", "code"}}`: a missing or wrong bearer key 401
  (`fake.api_key` set: only that key; else any non-empty one; `fake.require_key = False`: none needed), an unknown
  model 404 (when `fake.models` is set), a malformed body 400. `fake.fail_next(status, times=, path_contains=,
  retry_after=, code=)` answers errors first (429 with `Retry-After`, 500, 503...); `fake.delay_next(seconds)` answers
  late (a timeout for the client).
- Tokens are counted as words (deterministic).

Everything received is in `fake.requests`; `fake.chat_requests()` / `fake.embedding_requests()` give their JSON bodies.

Standalone: `python -m tests.fakes.openai --port 8082` (base URL `http://127.0.0.1:8082/v1`; control API
`POST /_fake/script` `{"text"}`, `POST /_fake/reset`, `GET /_fake/stats`).
"""

from __future__ import annotations

import argparse
import hashlib
import math
import re
import secrets
import threading
import unicodedata
from collections import deque
from collections.abc import Callable
from typing import Any

from tests.fakes.server import FakeServer, Request, Response, json_response

DIMENSIONS = 64
DEFAULT_MODELS = ("gpt-4o-mini", "gpt-4o", "text-embedding-3-small", "text-embedding-3-large")
_WORD = re.compile(r"\w+")
_HARAKAT = re.compile(r"[\u0610-\u061A\u064B-\u065F\u0670\u06D6-\u06ED\u0640]")
_FOLD = str.maketrans({"إ": "ا", "أ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ؤ": "و", "ئ": "ي"})

Scripted = str | Response | Callable[[dict], "str | Response"]


def words(text: str) -> list[str]:
    """The fake's own crude normalisation: NFKC, no harakat or tatweel, Arabic letter variants folded, case-folded,
    a plural `s` and the Arabic article dropped (so "orders" meets "order" and "الطلب" meets "طلب")."""
    text = _HARAKAT.sub("", unicodedata.normalize("NFKC", text)).translate(_FOLD).casefold()
    found = []
    for word in _WORD.findall(text):
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        if len(word) > 3 and word.startswith("ال"):
            word = word[2:]
        found.append(word)
    return found


def embedding_of(text: str, dimensions: int = DIMENSIONS) -> list[float]:
    """A unit vector: each word adds ±1 in a dimension chosen by its hash. An empty text gets a fixed vector."""
    vector = [0.0] * dimensions
    for word in words(text):
        digest = hashlib.sha256(word.encode()).digest()
        vector[int.from_bytes(digest[:4], "big") % dimensions] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(x * x for x in vector))
    if norm == 0:
        vector[0], norm = 1.0, 1.0
    return [round(x / norm, 6) for x in vector]


def _content(message: Any) -> str:
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content if isinstance(content, str) else ""


def default_answer(body: dict) -> str:
    """`You asked: "<last user message>".` and, when another message has a line sharing words with it,
    ` From the context: "<that line>"` (ties: the first such line)."""
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    users = [i for i, m in enumerate(messages) if m.get("role") == "user"]
    question = _content(messages[users[-1]]) if users else ""
    answer = f'You asked: "{question.strip()}".'
    asked = set(words(question))
    best, best_score = "", 0
    for index, message in enumerate(messages):
        if users and index == users[-1]:
            continue
        for line in _content(message).splitlines():
            score = len(asked & set(words(line)))
            if score > best_score:
                best, best_score = line.strip(), score
    if best:
        answer += f' From the context: "{best}"'
    return answer


def openai_error(status: int, message: str, *, type_: str, code: str | None = None, param: str | None = None):
    return json_response(status, {"error": {"message": message, "type": type_, "param": param, "code": code}})


class FakeOpenAIServer(FakeServer):
    user_agent = "fake-openai"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, api_key: str | None = None) -> None:
        super().__init__(host=host, port=port)
        self.api_key = api_key  # None: any non-empty bearer token
        self.require_key = True  # False: no key needed (as a local Ollama or vLLM server)
        self.models: set[str] | None = None  # None: any model name
        self.dimensions = DIMENSIONS
        self.answer: Callable[[dict], str] = default_answer
        self._scripted: deque[Scripted] = deque()
        self._failures: list[list[Any]] = []  # [response, times, path_contains]

    @property
    def base_url(self) -> str:
        """What `OPENAI_BASE_URL` (or an organization's base URL) points at."""
        return f"{self.url}/v1"

    def reset(self) -> None:
        super().reset()
        with self.lock:
            self._scripted.clear()
            self._failures.clear()
            self.answer = default_answer

    # scripting -------------------------------------------------------------------------------------------

    def script(self, *answers: Scripted) -> None:
        """Answer the next chat completions with these, in order: a text (the message content), a Response (sent
        as is), or a function of the request body returning either."""
        with self.lock:
            self._scripted.extend(answers)

    def fail_next(
        self,
        status: int = 500,
        *,
        times: int = 1,
        path_contains: str | None = None,
        retry_after: float | str | None = None,
        code: str | None = None,
        message: str | None = None,
    ) -> None:
        """Answer the next `times` requests (whose path contains `path_contains`) with an OpenAI error of `status`
        (429: `rate_limit_exceeded` unless `code`, with `Retry-After` when given)."""
        types = {400: "invalid_request_error", 401: "invalid_request_error", 404: "invalid_request_error"}
        default_code = {429: "rate_limit_exceeded", 401: "invalid_api_key"}.get(status)
        response = openai_error(
            status,
            message or f"Fake failure {status} (upstream text the hub must not show).",
            type_=types.get(status, "requests" if status == 429 else "server_error"),
            code=code or default_code,
        )
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        with self.lock:
            self._failures.append([response, times, path_contains])

    def _take_failure(self, request: Request) -> Response | None:
        with self.lock:
            for entry in self._failures:
                response, times, needle = entry
                if needle is None or needle in request.path:
                    if times <= 1:
                        self._failures.remove(entry)
                    else:
                        entry[1] = times - 1
                    return response
        return None

    # what arrived --------------------------------------------------------------------------------------

    def chat_requests(self) -> list[dict]:
        return [r.json for r in self.find_requests(method="POST", path="/v1/chat/completions")]

    def embedding_requests(self) -> list[dict]:
        return [r.json for r in self.find_requests(method="POST", path="/v1/embeddings")]

    # routes --------------------------------------------------------------------------------------------

    def route(self, request: Request) -> Response:
        if request.path.startswith("/_fake/"):
            return self._control(request)
        failure = self._take_failure(request)
        if failure is not None:
            return failure
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
        if (self.require_key and not token) or (self.api_key is not None and token != self.api_key):
            shown = f"{token[:3]}...{token[-4:]}" if token else ""
            return openai_error(
                401,
                f"Incorrect API key provided: {shown}." if token else "You didn't provide an API key.",
                type_="invalid_request_error",
                code="invalid_api_key",
            )
        if request.method == "GET" and request.path == "/v1/models":
            names = sorted(self.models if self.models is not None else DEFAULT_MODELS)
            return json_response(
                200, {"object": "list", "data": [{"id": n, "object": "model", "owned_by": "fake"} for n in names]}
            )
        if request.method == "POST" and request.path == "/v1/chat/completions":
            return self._chat(request)
        if request.method == "POST" and request.path == "/v1/embeddings":
            return self._embeddings(request)
        return openai_error(404, f"Invalid URL ({request.method} {request.path})", type_="invalid_request_error")

    def _check_model(self, body: Any) -> Response | None:
        if not isinstance(body, dict):
            return openai_error(400, "We could not parse the JSON body of your request.", type_="invalid_request_error")
        model = body.get("model")
        if not isinstance(model, str) or not model:
            return openai_error(400, "You must provide a model parameter.", type_="invalid_request_error")
        if self.models is not None and model not in self.models:
            return openai_error(
                404,
                f"The model `{model}` does not exist or you do not have access to it.",
                type_="invalid_request_error",
                code="model_not_found",
            )
        return None

    def _chat(self, request: Request) -> Response:
        body = request.json
        refused = self._check_model(body)
        if refused is not None:
            return refused
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return openai_error(400, "'messages' must be a non-empty array.", type_="invalid_request_error")
        with self.lock:
            scripted = self._scripted.popleft() if self._scripted else None
        answer = scripted(body) if callable(scripted) else scripted
        if answer is None:
            answer = self.answer(body)
        if isinstance(answer, Response):
            return answer
        prompt = sum(len(words(_content(m))) for m in messages)
        completion = len(words(answer))
        return json_response(
            200,
            {
                "id": f"chatcmpl-{secrets.token_hex(12)}",
                "object": "chat.completion",
                "created": int(self.clock.now()),
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": answer, "refusal": None},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                },
            },
        )

    def _embeddings(self, request: Request) -> Response:
        body = request.json
        refused = self._check_model(body)
        if refused is not None:
            return refused
        inputs = body.get("input")
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not inputs or not all(isinstance(t, str) and t for t in inputs):
            return openai_error(
                400, "'input' must be a non-empty string or array of strings.", type_="invalid_request_error"
            )
        tokens = sum(len(words(text)) for text in inputs)
        return json_response(
            200,
            {
                "object": "list",
                "data": [
                    {"object": "embedding", "index": i, "embedding": embedding_of(text, self.dimensions)}
                    for i, text in enumerate(inputs)
                ],
                "model": body["model"],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    def _control(self, request: Request) -> Response:
        if request.method == "POST" and request.path == "/_fake/script":
            text = (request.json or {}).get("text", "")
            self.script(str(text))
            return json_response(200, {"queued": len(self._scripted)})
        if request.method == "POST" and request.path == "/_fake/reset":
            self.reset()
            return json_response(200, {"reset": True})
        if request.method == "GET" and request.path == "/_fake/stats":
            return json_response(
                200,
                {"chat_completions": len(self.chat_requests()), "embeddings": len(self.embedding_requests())},
            )
        return json_response(404, {"error": "unknown control route"})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake OpenAI-compatible API for demos and benchmarks.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument("--api-key", default=None, help="the only bearer key accepted (default: any non-empty one)")
    args = parser.parse_args(argv)
    fake = FakeOpenAIServer(host=args.host, port=args.port, api_key=args.api_key).start()
    print(f"Fake OpenAI API on {fake.base_url} (OPENAI_BASE_URL); control API under {fake.url}/_fake/", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
