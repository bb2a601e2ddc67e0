"""The flows API: CRUD (each save a new version), activate and deactivate, roles, a test run on a sandbox number
through the real ingest path, and the runs with their steps."""

import pytest

from automation.models import Flow, FlowRun, FlowVersion, NumberAutomation
from tests.automation.flows_support import (
    CUSTOMER,
    chain,
    committed,
    keyword_trigger,
    linked_flow,
    node,
    sandbox_number,
    sent_texts,
    text,
    writes,
)
from tests.templates.factories import MessageTemplateFactory

URL = "/api/v1/flows"
RUNS = "/api/v1/flow-runs"
GRAPH = [keyword_trigger("hello"), text("hi", "Hi there")]


def create(client, **fields):
    body = {"name": "Welcome", "nodes": GRAPH, "edges": chain(*GRAPH), **fields}
    return client.post(URL, body, format="json")


def test_a_flow_is_created_read_listed_and_shown_as_written(admin_client, admin_membership):
    created = create(admin_client, description="Greets")
    assert created.status_code == 201, created.content
    body = created.json()
    flow = Flow.objects.get()

    assert body == {
        "id": flow.pk,
        "name": "Welcome",
        "description": "Greets",
        "kind": "flow",
        "nodes": GRAPH,
        "edges": chain(*GRAPH),
        "is_active": False,
        "version": 1,
        "created_by": admin_membership.user_id,
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }
    assert admin_client.get(f"{URL}/{flow.pk}").json() == body
    assert [row["id"] for row in admin_client.get(URL).json()["results"]] == [flow.pk]
    assert list(FlowVersion.objects.values_list("version", "nodes")) == [(1, GRAPH)]


def test_each_save_makes_a_new_version_and_keeps_the_old_one(admin_client):
    flow_id = create(admin_client).json()["id"]
    graph = [keyword_trigger("hello"), text("hi", "Hello again")]

    renamed = admin_client.patch(f"{URL}/{flow_id}", {"name": "Greeter"}, format="json")
    changed = admin_client.put(
        f"{URL}/{flow_id}", {"name": "Greeter", "nodes": graph, "edges": chain(*graph)}, format="json"
    )

    assert (renamed.json()["version"], changed.json()["version"]) == (2, 3)
    assert changed.json()["nodes"] == graph
    assert list(FlowVersion.objects.order_by("version").values_list("version", flat=True)) == [1, 2, 3]
    assert FlowVersion.objects.get(version=1).nodes == GRAPH


def test_a_name_is_unique_in_the_organization(admin_client, outsider_client):
    create(admin_client)

    response = create(admin_client)

    assert response.status_code == 400
    assert response.json()["errors"] == {"name": ["A flow or workflow named Welcome exists already."]}
    assert create(outsider_client).status_code == 201


def test_a_refused_change_changes_nothing(admin_client):
    flow_id = create(admin_client).json()["id"]

    response = admin_client.patch(f"{URL}/{flow_id}", {"nodes": [text("a", "no trigger")], "edges": []}, format="json")

    assert response.status_code == 400
    flow = Flow.objects.get()
    assert (flow.version, flow.nodes) == (1, GRAPH)


@pytest.mark.parametrize("client_name", ["agent_client", "marketing_client"])
def test_flows_are_for_admins(request, client_name, admin_client):
    flow_id = create(admin_client).json()["id"]
    client = request.getfixturevalue(client_name)

    assert client.get(URL).status_code == 403
    assert create(client, name="Mine").status_code == 403
    assert client.post(f"{URL}/{flow_id}/activate").status_code == 403
    assert client.delete(f"{URL}/{flow_id}").status_code == 403
    assert (Flow.objects.count(), Flow.objects.get().is_active) == (1, False)


def test_activate_and_deactivate(admin_client):
    flow_id = create(admin_client).json()["id"]

    activated = admin_client.post(f"{URL}/{flow_id}/activate")
    deactivated = admin_client.post(f"{URL}/{flow_id}/deactivate")

    assert (activated.status_code, activated.json()["is_active"]) == (200, True)
    assert (deactivated.status_code, deactivated.json()["is_active"]) == (200, False)


def test_a_draft_without_a_trigger_cannot_be_activated(admin_client):
    flow_id = admin_client.post(URL, {"name": "Draft"}, format="json").json()["id"]

    response = admin_client.post(f"{URL}/{flow_id}/activate")

    assert response.status_code == 400
    assert response.json()["errors"] == {"graph": ["A flow needs one trigger node."]}
    assert Flow.objects.get().is_active is False


def test_activating_checks_the_rows_the_flow_names_again(admin_client, org):
    template = MessageTemplateFactory(organization=org)
    graph = [keyword_trigger("hi"), node("t", "send_message", {"type": "template", "template_id": template.pk})]
    flow_id = admin_client.post(URL, {"name": "T", "nodes": graph, "edges": chain(*graph)}, format="json").json()["id"]
    template.delete()

    response = admin_client.post(f"{URL}/{flow_id}/activate")

    assert response.status_code == 400
    assert response.json()["errors"] == {"nodes": {"t": ["template_id: no such template in this organization."]}}


def test_deleting_a_flow_deletes_its_runs_and_unsets_it_from_numbers(admin_client, org):
    number = sandbox_number(org)
    flow = linked_flow(org, number, GRAPH)
    writes(org, number, "hello")

    assert admin_client.delete(f"{URL}/{flow.pk}").status_code == 204

    assert (Flow.objects.count(), FlowRun.objects.count(), FlowVersion.objects.count()) == (0, 0, 0)
    assert NumberAutomation.objects.get(number=number).flow is None


# --- a test run on a sandbox number -----------------------------------------------------------------------------------


def test_a_flow_is_tried_on_a_sandbox_number_whatever_its_trigger_and_whether_active(admin_client, org):
    number = sandbox_number(org)
    ask = node("q", "ask", {"question": {"type": "text", "text": "Your name?"}, "variable": "name"})
    graph = [node("start", "trigger", {"on": "first_message"}), ask, text("bye", "Bye {{vars.name}}")]
    flow_id = admin_client.post(URL, {"name": "Try", "nodes": graph, "edges": chain(*graph)}, format="json").json()[
        "id"
    ]

    response = committed(
        admin_client.post, f"{URL}/{flow_id}/test", {"from": CUSTOMER, "text": "anything"}, format="json"
    )

    assert response.status_code == 202, response.content
    run = FlowRun.objects.get()
    assert response.json() == {
        "run_id": run.pk,
        "number_id": number.pk,
        "contact_id": run.contact_id,
        "provider_message_id": response.json()["provider_message_id"],
    }
    assert (run.is_test, run.status, run.current_node) == (True, "waiting", "q")
    writes(org, number, "Maya")  # the customer's next message, as POST sandbox/inbound sends it
    assert sent_texts(org) == ["Your name?", "Bye Maya"]
    run.refresh_from_db()
    assert run.status == "completed"


def test_a_test_run_sends_the_triggers_keyword_by_default_and_replaces_the_customers_run(admin_client, org):
    number = sandbox_number(org)
    ask = node("q", "ask", {"question": {"type": "text", "text": "Name?"}, "variable": "name"})
    flow = linked_flow(org, number, [keyword_trigger("menu", "start"), ask])
    writes(org, number, "menu")

    committed(admin_client.post, f"{URL}/{flow.pk}/test", {"from": CUSTOMER}, format="json")

    old, new = FlowRun.objects.order_by("pk")
    assert (old.status, new.status, new.last_reply) == ("cancelled", "waiting", "menu")


def test_a_test_run_needs_a_sandbox_number(admin_client, org):
    flow_id = create(admin_client).json()["id"]

    response = admin_client.post(f"{URL}/{flow_id}/test", {}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "no_sandbox_number"
    assert FlowRun.objects.count() == 0


# --- runs ------------------------------------------------------------------------------------------------------------


def test_runs_are_listed_filtered_and_shown_with_their_steps(admin_client, org):
    number = sandbox_number(org)
    flow = linked_flow(org, number, GRAPH)
    writes(org, number, "hello")
    run = FlowRun.objects.get()

    listed = admin_client.get(RUNS, {"flow": flow.pk, "status": "completed"}).json()["results"]
    detail = admin_client.get(f"{RUNS}/{run.pk}").json()

    assert [row["id"] for row in listed] == [run.pk]
    assert admin_client.get(RUNS, {"status": "waiting"}).json()["results"] == []
    assert {key: detail[key] for key in ("flow_id", "flow_version", "status", "step_count", "is_test")} == {
        "flow_id": flow.pk,
        "flow_version": 1,
        "status": "completed",
        "step_count": 2,
        "is_test": False,
    }
    assert [(s["step_no"], s["node_id"], s["node_type"]) for s in detail["steps"]] == [
        (1, "start", "trigger"),
        (2, "hi", "send_message"),
    ]
    assert detail["steps"][1]["message_id"] == org.message_set.get(direction="outbound").pk
