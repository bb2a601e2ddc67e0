"""Custom functions (seed 000 `functions/`) and the flows' HTTP steps: named HTTP calls whose JSON answer becomes run
variables, tried against a local receiver (the scripted server, allowed through the egress policy by an entry), and
refused where the policy refuses (SSRF): at save time naming the field, and again when called."""

import json

import pytest
from django.db import connection

from automation.models import CustomFunction, FlowRun
from tests.automation.flows_support import (
    edge,
    keyword_trigger,
    linked_flow,
    node,
    sandbox_number,
    sent_texts,
    text,
    writes,
)
from tests.fakes.pytest_plugin import allow_egress
from tests.fakes.server import Response, json_response

URL = "/api/v1/functions"
NOT_ALLOWED = "This address is not allowed: the hub only connects to public addresses (or those its operator allows)."
PRIVATE = "The host must resolve to public addresses only; a private service needs the hub's operator to allow it."


@pytest.fixture
def upstream(settings, scripted_server):
    """The scripted server, allowed by an EGRESS_ALLOWED_HOSTS entry: the tenant's own API."""
    allow_egress(settings, scripted_server)
    return scripted_server


def body_of(upstream, **fields) -> dict:
    return {
        "name": "Order status",
        "method": "POST",
        "url": f"{upstream.url}/orders/lookup?phone={{{{contact.phone}}}}",
        "headers": {"Authorization": "Bearer sk-secret-token-1234"},
        "body_template": {"order": "{{vars.order_id}}", "who": "{{contact.name}}", "count": "{{vars.count}}"},
        "response_map": {"order_status": "data.status", "first_item": "$.data.items[0].name"},
        "timeout_seconds": 5,
        **fields,
    }


def create(client, upstream, **fields):
    return client.post(URL, body_of(upstream, **fields), format="json")


ANSWER = {"data": {"status": "shipped", "items": [{"name": "Blue mug"}]}}


# --- CRUD and secrets -----------------------------------------------------------------------------------------------


def test_a_function_is_saved_with_its_headers_encrypted_and_shown_masked(admin_client, upstream):
    response = create(admin_client, upstream)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["headers"] == {"Authorization": "...1234"}
    assert (body["method"], body["response_map"], body["timeout_seconds"]) == (
        "POST",
        {"order_status": "data.status", "first_item": "$.data.items[0].name"},
        5,
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT headers_encrypted FROM automation_customfunction")
        [(stored,)] = cursor.fetchall()
    assert "sk-secret" not in stored
    assert json.loads(CustomFunction.objects.get().headers_encrypted) == {
        "Authorization": "Bearer sk-secret-token-1234"
    }


def test_a_null_header_value_keeps_the_stored_secret(admin_client, upstream):
    function_id = create(admin_client, upstream).json()["id"]

    response = admin_client.patch(
        f"{URL}/{function_id}", {"headers": {"Authorization": None, "X-Shop": "blue"}}, format="json"
    )

    assert response.status_code == 200, response.content
    assert json.loads(CustomFunction.objects.get().headers_encrypted) == {
        "Authorization": "Bearer sk-secret-token-1234",
        "X-Shop": "blue",
    }
    refused = admin_client.patch(f"{URL}/{function_id}", {"headers": {"X-New": None}}, format="json")
    assert refused.json()["errors"] == {"headers": ["X-New has no stored value to keep."]}


def test_functions_are_for_admins_and_names_are_unique(admin_client, agent_client, upstream):
    create(admin_client, upstream)

    assert create(admin_client, upstream).json()["errors"] == {
        "name": ["A function named Order status exists already."]
    }
    assert agent_client.get(URL).status_code == 403
    assert create(agent_client, upstream, name="Other").status_code == 403
    assert CustomFunction.objects.count() == 1


def test_a_function_a_flow_uses_cannot_be_deleted(admin_client, org, upstream):
    function_id = create(admin_client, upstream).json()["id"]
    linked_flow(
        org,
        sandbox_number(org),
        [keyword_trigger("x"), node("f", "function", {"function_id": function_id})],
        name="Orders",
    )

    response = admin_client.delete(f"{URL}/{function_id}")

    assert (response.status_code, response.json()["detail"]) == (
        409,
        "Flows use this function: Orders. Remove it from them first.",
    )
    assert CustomFunction.objects.count() == 1


# --- the test endpoint against a local receiver ---------------------------------------------------------------------


def test_trying_a_function_calls_it_with_the_sample_values_and_maps_the_answer(admin_client, upstream):
    upstream.answer("/orders/lookup", json_response(200, ANSWER))
    function_id = create(admin_client, upstream).json()["id"]

    response = admin_client.post(
        f"{URL}/{function_id}/test",
        {"variables": {"order_id": "A-77", "count": 3}, "contact": {"name": "Maya", "phone": "+966 50"}},
        format="json",
    )

    assert response.status_code == 200, response.content
    result = response.json()
    assert {key: result[key] for key in ("ok", "status_code", "variables", "error")} == {
        "ok": True,
        "status_code": 200,
        "variables": {"order_status": "shipped", "first_item": "Blue mug"},
        "error": "",
    }
    [request] = upstream.requests
    assert (request.method, request.query, request.headers["Authorization"]) == (
        "POST",
        {"phone": "+966 50"},
        "Bearer sk-secret-token-1234",
    )
    assert request.json == {"order": "A-77", "who": "Maya", "count": 3}


def test_an_error_answer_is_reported_in_the_hubs_words_without_its_body(admin_client, upstream):
    upstream.answer("/orders/lookup", json_response(500, {"data": {"status": "internal secret"}}))
    function_id = create(admin_client, upstream).json()["id"]

    result = admin_client.post(f"{URL}/{function_id}/test", {}, format="json").json()

    assert {key: result[key] for key in ("ok", "status_code", "variables", "error")} == {
        "ok": False,
        "status_code": 500,
        "variables": {},
        "error": "The server answered with status 500.",
    }


def test_a_slow_server_times_out(admin_client, upstream):
    upstream.answer("/orders/lookup", json_response(200, ANSWER))
    upstream.delay_next(2.5)
    function_id = create(admin_client, upstream, timeout_seconds=1).json()["id"]

    result = admin_client.post(f"{URL}/{function_id}/test", {}, format="json").json()

    assert (result["ok"], result["error"]) == (False, "The server did not answer in time.")


def test_an_answer_over_the_size_cap_is_refused(admin_client, upstream):
    upstream.answer("/orders/lookup", Response(200, b"[" + b"1," * 200_000 + b"1]"))
    function_id = create(admin_client, upstream).json()["id"]

    result = admin_client.post(f"{URL}/{function_id}/test", {}, format="json").json()

    assert (result["ok"], result["error"]) == (False, "The server's answer was too large.")


def test_a_redirect_is_not_followed(admin_client, upstream, webhook_receiver):
    upstream.answer("/orders/lookup", Response(302, b"", "text/plain", {"Location": f"{webhook_receiver.url}/x"}))
    function_id = create(admin_client, upstream).json()["id"]

    result = admin_client.post(f"{URL}/{function_id}/test", {}, format="json").json()

    assert (result["ok"], result["error"]) == (
        False,
        "The server answered with a redirect; the hub does not follow redirects.",
    )
    assert webhook_receiver.requests == []


# --- SSRF ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:{port}/x", PRIVATE),
        ("http://localhost:{port}/x", PRIVATE),
        ("http://[::1]:{port}/x", PRIVATE),
        ("http://169.254.169.254/latest/meta-data/", PRIVATE),
        ("http://10.0.0.5/internal", PRIVATE),
        ("http://metadata.google.internal/computeMetadata/v1/", PRIVATE),
        ("http://mixed.example/x", PRIVATE),
        ("http://127.1/x", "Write the host as a name, a dotted IPv4 address or a bracketed IPv6 address."),
        ("http://user:pass@public.example/x", "A URL here cannot carry a user name or password."),
        ("file:///etc/passwd", "Only http and https URLs are allowed."),
    ],
)
def test_an_internal_address_is_refused_when_saved(admin_client, webhook_receiver, fake_dns, url, message):
    response = admin_client.post(URL, {"name": "Probe", "url": url.format(port=webhook_receiver.port)}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"url": [message]}
    assert (CustomFunction.objects.count(), webhook_receiver.requests) == (0, [])


def test_an_address_allowed_when_saved_is_refused_when_called_once_it_no_longer_is(admin_client, settings, upstream):
    function_id = create(admin_client, upstream).json()["id"]
    settings.EGRESS_ALLOWED_HOSTS = []  # the operator removed the entry

    result = admin_client.post(f"{URL}/{function_id}/test", {}, format="json").json()

    assert (result["ok"], result["error"]) == (False, NOT_ALLOWED)
    assert upstream.requests == []


def test_a_name_that_rebinds_to_loopback_after_the_check_is_refused_when_called(
    admin_client, fake_dns, webhook_receiver
):
    fake_dns.names["shop.example"] = ["93.184.215.14"]
    fake_dns.then["shop.example"] = ["127.0.0.1"]
    response = admin_client.post(
        URL, {"name": "Rebind", "url": f"http://shop.example:{webhook_receiver.port}/x"}, format="json"
    )
    assert response.status_code == 201

    result = admin_client.post(f"{URL}/{response.json()['id']}/test", {}, format="json").json()

    assert (result["ok"], result["error"]) == (False, NOT_ALLOWED)
    assert webhook_receiver.requests == []


# --- in flows ------------------------------------------------------------------------------------------------------


def test_a_function_step_maps_the_answer_into_the_runs_variables(admin_client, org, upstream):
    upstream.answer("/orders/lookup", json_response(200, ANSWER))
    function_id = create(admin_client, upstream).json()["id"]
    number = sandbox_number(org)
    graph = [
        keyword_trigger("order"),
        node("v", "set_attribute", {"variable": "order_id", "value": "A-{{message.text}}"}),
        node("f", "function", {"function_id": function_id, "save_to": "lookup"}),
        text("reply", "Your order is {{vars.order_status}} ({{vars.first_item}})"),
    ]
    linked_flow(org, number, graph)

    writes(org, number, "order")

    assert sent_texts(org) == ["Your order is shipped (Blue mug)"]
    run = FlowRun.objects.get()
    assert run.variables == {
        "order_id": "A-order",
        "order_status": "shipped",
        "first_item": "Blue mug",
        "lookup": {"status": 200, "body": ANSWER},
    }
    assert upstream.requests[0].json == {"order": "A-order", "who": "Alex", "count": ""}


def test_an_http_step_takes_its_error_branch_or_fails_the_run(org, upstream):
    upstream.answer("/hook", json_response(503, {}))
    number = sandbox_number(org)
    call = node("h", "http_request", {"method": "GET", "url": f"{upstream.url}/hook", "response_map": {"x": "x"}})
    graph = [keyword_trigger("go", "again"), call, text("ok", "done"), text("sorry", "Try later")]
    linked_flow(org, number, graph, [edge("start", "h"), edge("h", "ok"), edge("h", "sorry", "error")])

    writes(org, number, "go")

    assert sent_texts(org) == ["Try later"]
    step = FlowRun.objects.get().steps.get(node_id="h")
    assert (step.outcome["handle"], step.outcome["status_code"], step.outcome["error"]) == (
        "error",
        503,
        "The server answered with status 503.",
    )


def test_an_http_step_without_an_error_branch_fails_the_run_with_the_reason(org, settings, scripted_server):
    number = sandbox_number(org)
    allow_egress(settings, scripted_server)
    call = node("h", "http_request", {"url": f"{scripted_server.url}/hook"})
    linked_flow(org, number, [keyword_trigger("go"), call, text("ok", "done")])
    settings.EGRESS_ALLOWED_HOSTS = []

    writes(org, number, "go")

    run = FlowRun.objects.get()
    assert (run.status, run.last_error, sent_texts(org), scripted_server.requests) == ("failed", NOT_ALLOWED, [], [])
