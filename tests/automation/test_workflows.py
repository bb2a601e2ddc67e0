"""workflows/ (seed 000: `{name, trigger_type, steps}`): linear flows, translated to and from a flow's graph, run
by the same engine."""

from automation.models import Flow, FlowRun, NumberAutomation
from tests.automation.flows_support import keyword_trigger, linked_flow, sandbox_number, sent_texts, text, writes

URL = "/api/v1/workflows"
STEPS = [
    {"type": "send_message", "data": {"type": "text", "text": "Hi {{contact.first_name}}"}},
    {"id": "tag", "type": "set_tag", "data": {"tags": ["greeted"]}},
    {"type": "send_message", "data": {"type": "text", "text": "Anything else?"}},
]


def create(client, **fields):
    body = {"name": "Greet", "trigger_type": "keyword", "keywords": ["hello"], "steps": STEPS, **fields}
    return client.post(URL, body, format="json")


def test_a_workflow_is_a_linear_flow(admin_client):
    response = create(admin_client)

    assert response.status_code == 201, response.content
    flow = Flow.objects.get()
    assert flow.kind == "workflow"
    assert flow.nodes == [
        {
            "id": "trigger",
            "type": "trigger",
            "data": {"on": "keyword", "match": "exact", "keywords": ["hello"]},
            "position": {"x": 0, "y": 0},
        },
        {"id": "step1", "type": "send_message", "data": STEPS[0]["data"], "position": {"x": 280, "y": 0}},
        {"id": "tag", "type": "set_tag", "data": {"tags": ["greeted"]}, "position": {"x": 560, "y": 0}},
        {"id": "step3", "type": "send_message", "data": STEPS[2]["data"], "position": {"x": 840, "y": 0}},
    ]
    assert flow.edges == [
        {"id": "e1", "source": "trigger", "target": "step1"},
        {"id": "e2", "source": "step1", "target": "tag"},
        {"id": "e3", "source": "tag", "target": "step3"},
    ]


def test_a_workflow_reads_back_as_its_trigger_and_steps(admin_client):
    created = create(admin_client).json()

    shown = admin_client.get(f"{URL}/{created['id']}").json()

    assert shown == created
    assert {key: shown[key] for key in ("name", "trigger_type", "keywords", "match", "is_active", "version")} == {
        "name": "Greet",
        "trigger_type": "keyword",
        "keywords": ["hello"],
        "match": "exact",
        "is_active": False,
        "version": 1,
    }
    assert shown["steps"] == [
        {"id": "step1", **STEPS[0]},
        STEPS[1],
        {"id": "step3", **STEPS[2]},
    ]
    assert [row["id"] for row in admin_client.get(URL).json()["results"]] == [created["id"]]
    assert admin_client.get(f"/api/v1/flows/{created['id']}").json()["kind"] == "workflow"


def test_a_workflow_runs_on_the_flows_engine(admin_client, org):
    number = sandbox_number(org)
    flow_id = create(admin_client, is_active=True).json()["id"]
    NumberAutomation.objects.create(organization=org, number=number, flow_id=flow_id)

    writes(org, number, "hello")

    assert sent_texts(org) == ["Hi Alex", "Anything else?"]
    assert FlowRun.objects.get().status == "completed"


def test_updating_the_steps_keeps_the_trigger_and_makes_a_new_version(admin_client):
    workflow_id = create(admin_client).json()["id"]

    response = admin_client.patch(f"{URL}/{workflow_id}", {"steps": STEPS[:1]}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["version"], body["trigger_type"], body["keywords"]) == (2, "keyword", ["hello"])
    assert body["steps"] == [{"id": "step1", **STEPS[0]}]


def test_a_refused_step_is_named_by_its_index(admin_client):
    steps = [STEPS[0], {"type": "delay", "data": {"amount": 0}}, {"type": "condition", "data": {}}]

    response = create(admin_client, steps=steps)

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "steps": {
            "2": [
                "A step is {type, data}; type is one of: send_message, ask, set_tag, set_attribute, assign, bot, "
                "http_request, function, delay, send_flow, end."
            ]
        }
    }
    response = create(admin_client, steps=steps[:2])
    assert response.json()["errors"] == {"steps": {"1": ["amount must be a whole number from 1 to 2592000."]}}
    response = create(admin_client, trigger_type="keyword", keywords=[])
    assert response.json()["errors"] == {"trigger_type": ["A keyword trigger needs at least one keyword."]}
    assert Flow.objects.count() == 0


def test_a_workflow_made_branching_in_the_builder_becomes_a_flow(admin_client, org):
    workflow_id = create(admin_client).json()["id"]
    flow = Flow.objects.get()
    branching = [
        *flow.nodes,
        {"id": "c", "type": "condition", "data": {"check": "tag", "tag": "vip"}, "position": {"x": 0, "y": 200}},
    ]
    edges = [*flow.edges, {"id": "e4", "source": "step3", "target": "c"}]

    response = admin_client.patch(f"/api/v1/flows/{workflow_id}", {"nodes": branching, "edges": edges}, format="json")

    assert response.json()["kind"] == "flow"
    assert admin_client.get(URL).json()["results"] == []
    assert admin_client.get(f"{URL}/{workflow_id}").status_code == 404


def test_deleting_a_workflow_deletes_its_flow(admin_client):
    workflow_id = create(admin_client).json()["id"]

    assert admin_client.delete(f"{URL}/{workflow_id}").status_code == 204
    assert Flow.objects.count() == 0


def test_workflows_list_only_workflows(admin_client, org):
    linked_flow(org, sandbox_number(org), [keyword_trigger("x"), text("a", "b")])

    assert admin_client.get(URL).json()["results"] == []
