"""A flow's graph is checked on save: a 400 names the node (errors.nodes.<id>) or the edge (errors.edges.<id>) at
fault, or the graph (errors.graph); nothing is stored."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from automation.flows import schema
from automation.models import Bot, CustomFunction, Flow
from tests.automation.flows_support import chain, edge, keyword_trigger, node, text
from tests.factories import MembershipFactory
from tests.messaging.factories import MediaFactory
from tests.templates.factories import MessageTemplateFactory
from whatsapp_hub.errors import ServiceError

URL = "/api/v1/flows"


def save(client, nodes, edges=None):
    return client.post(
        URL, {"name": "Checked", "nodes": nodes, "edges": chain(*nodes) if edges is None else edges}, format="json"
    )


def refused(response) -> dict:
    assert response.status_code == 400, response.content
    assert Flow.objects.count() == 0
    return response.json()["errors"]


def test_a_valid_graph_is_saved_as_written(admin_client):
    nodes = [keyword_trigger("hi"), text("a", "Hello")]

    response = save(admin_client, nodes)

    assert response.status_code == 201, response.content
    assert response.json()["nodes"] == nodes
    assert response.json()["edges"] == [{"id": "start-a-on", "source": "start", "target": "a"}]


def test_an_empty_graph_is_a_draft_that_cannot_be_active(admin_client):
    assert save(admin_client, [], []).status_code == 201
    response = admin_client.post(URL, {"name": "Live", "nodes": [], "edges": [], "is_active": True}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"graph": ["A flow needs one trigger node."]}


def test_a_graph_without_a_trigger_is_refused(admin_client):
    assert refused(save(admin_client, [text("a", "Hello")])) == {"graph": ["A flow needs one trigger node."]}


def test_a_second_trigger_is_named(admin_client):
    second = node("again", "trigger", {"on": "any"})

    errors = refused(save(admin_client, [keyword_trigger("hi"), second], []))

    assert errors["nodes"]["again"][0] == "A flow has one trigger: this is a second one."


def test_an_unknown_node_type_is_named(admin_client):
    errors = refused(save(admin_client, [keyword_trigger("hi"), node("x", "teleport")]))

    assert errors == {"nodes": {"x": [errors["nodes"]["x"][0]]}}
    assert errors["nodes"]["x"][0].startswith("type must be one of: trigger, send_message, ask, condition,")


def test_duplicate_node_ids_and_bad_shapes_are_named(admin_client):
    nodes = [
        keyword_trigger("hi"),
        text("a", "one"),
        text("a", "two"),
        {"id": "p", "type": "end", "data": {}, "position": {"x": "left", "y": 0}},
        {"id": "bad id!", "type": "end", "position": {"x": 0, "y": 0}},
        {"id": "q", "type": "end", "position": {"x": 0, "y": 0}, "color": "red"},
    ]

    errors = refused(save(admin_client, nodes, []))

    assert errors == {
        "nodes": {
            "a": ["Two nodes have this id."],
            "p": ["position must be {x, y}, two numbers."],
            "#4": ["id must be 1 to 64 letters, digits, _ or -."],
            "q": ["Unknown fields: color."],
        }
    }


def test_a_dangling_edge_is_named(admin_client):
    nodes = [keyword_trigger("hi"), text("a", "one")]

    errors = refused(save(admin_client, nodes, [edge("start", "a", edge_id="ok"), edge("a", "ghost", edge_id="e9")]))

    assert errors == {"edges": {"e9": ["This edge leads from or to a node that does not exist."]}}


def test_an_unreachable_node_is_named(admin_client):
    nodes = [keyword_trigger("hi"), text("a", "one"), text("island", "nobody comes here")]

    errors = refused(save(admin_client, nodes, [edge("start", "a")]))

    assert errors == {"nodes": {"island": ["This node cannot be reached from the trigger."]}}


def test_a_loop_without_a_wait_is_named_node_by_node(admin_client):
    nodes = [keyword_trigger("hi"), text("a", "one"), node("c", "condition", {"check": "reply", "value": "x"})]
    edges = [edge("start", "a"), edge("a", "c"), edge("c", "a", "yes")]

    errors = refused(save(admin_client, nodes, edges))

    loop = "This node is on a loop with no wait (an ask or a delay): it would never stop."
    assert errors == {"nodes": {"a": [loop], "c": [loop]}}


def test_a_loop_through_an_ask_or_a_delay_is_allowed(admin_client):
    ask = node("q", "ask", {"question": {"type": "text", "text": "Again?"}, "validate": "choice", "choices": ["yes"]})
    wait = node("d", "delay", {"amount": 1, "unit": "hours"})
    nodes = [keyword_trigger("hi"), text("a", "one"), ask, wait]
    edges = [edge("start", "a"), edge("a", "q"), edge("q", "a", "yes"), edge("q", "d", "timeout"), edge("d", "a")]

    assert save(admin_client, nodes, edges).status_code == 201


@pytest.mark.parametrize(
    ("source", "handle", "message"),
    [
        ("c", "maybe", "source_handle must be one of no, yes for a condition node."),
        ("a", "yes", 'source_handle must be one of "" for a send_message node.'),
        ("stop", None, "A end node ends the flow: no edge leaves it."),
    ],
)
def test_an_edge_leaving_by_a_branch_its_node_does_not_have_is_named(admin_client, source, handle, message):
    nodes = [
        keyword_trigger("hi"),
        text("a", "one"),
        node("c", "condition", {"check": "tag", "tag": "vip"}),
        node("stop", "end"),
    ]
    edges = [edge("start", "a"), edge("a", "c"), edge("c", "stop", "yes"), edge("c", "stop", "no", "e-no")]
    edges.append(edge(source, "a", handle, edge_id="wrong"))

    errors = refused(save(admin_client, nodes, edges))

    assert errors == {"edges": {"wrong": [message]}}


def test_two_edges_by_one_branch_and_an_edge_into_the_trigger_are_named(admin_client):
    nodes = [keyword_trigger("hi"), text("a", "one"), text("b", "two")]
    edges = [edge("start", "a"), edge("start", "b", edge_id="again"), edge("a", "start", edge_id="back")]

    errors = refused(save(admin_client, nodes, edges))

    assert errors == {
        "nodes": {
            "start": ["Two edges leave this node by the same branch (its one way on): start-a-on and again."],
            "b": ["This node cannot be reached from the trigger."],
        },
        "edges": {"back": ["No edge may lead into the trigger."]},
    }


# Each node type's data, refused with a message naming what is wrong.
BAD_DATA = [
    ("trigger", {"on": "sometimes"}, "on must be one of: keyword, first_message, button_reply, opt_in, any."),
    ("trigger", {"on": "keyword", "keywords": []}, "A keyword trigger needs at least one keyword."),
    ("trigger", {"on": "any", "match": "fuzzy"}, "match must be one of: exact, contains."),
    ("send_message", {"type": "text", "text": ""}, "text: This field may not be blank."),
    ("send_message", {"type": "text", "text": "x" * 4097}, "text: Ensure this field has no more than 4096 characters."),
    (
        "send_message",
        {"type": "text", "text": "Hi {{contact.name}} {{agent.name}}"},
        "data: {{agent.name}} is not a placeholder the hub knows (contact.*, vars.* or message.text).",
    ),
    (
        "send_message",
        {"type": "reaction", "reaction": {"message_id": 1, "emoji": "x"}},
        "type must be one of: audio, contacts, document, image, interactive, location, sticker, template, text, video.",
    ),
    ("send_message", {"type": "image", "media_id": 999999}, "media_id: no such uploaded media in this organization."),
    (
        "send_message",
        {"type": "template", "template_id": 999999},
        "template_id: no such template in this organization.",
    ),
    ("ask", {"question": {"type": "image", "media_id": 1}}, "question: type must be one of: text, interactive."),
    (
        "ask",
        {"question": {"type": "text", "text": "?"}, "validate": "choice"},
        "A choice question needs buttons or list rows, or choices.",
    ),
    (
        "ask",
        {"question": {"type": "text", "text": "?"}, "attribute": "a", "variable": "b"},
        "Store the answer in an attribute or in a variable, not both.",
    ),
    (
        "ask",
        {"question": {"type": "text", "text": "?"}, "variable": "1st"},
        "variable must be a name of letters, digits and _ (at most 64, not starting with a digit).",
    ),
    (
        "ask",
        {"question": {"type": "text", "text": "?"}, "timeout_minutes": 0},
        "timeout_minutes must be a whole number from 1 to 10080.",
    ),
    (
        "condition",
        {"check": "mood"},
        "check must be one of: reply, attribute, variable, tag, time_of_day, business_hours.",
    ),
    (
        "condition",
        {"check": "attribute", "attribute": "age", "operator": "gt", "value": "old"},
        "value must be a number to compare with gt.",
    ),
    ("condition", {"check": "time_of_day", "from": "9:00", "to": "17:00"}, "from must be a time as HH:MM (24 hours)."),
    (
        "condition",
        {"check": "business_hours", "from": "09:00", "to": "17:00", "days": ["funday"]},
        "days must be a list of: mon, tue, wed, thu, fri, sat, sun.",
    ),
    ("set_tag", {"tags": []}, "tags must be a list of 1 to 20 tag names."),
    ("set_tag", {"tags": ["a,b"]}, "Each tag is a name of at most 64 characters, without ',', ';' or '|'."),
    ("set_attribute", {"value": "x"}, "Name one attribute or one variable to set."),
    ("set_attribute", {"attribute": "city", "value": 5}, "value must be a text of at most 1024 characters."),
    ("assign", {}, "Assign to a user (user_id), a team (team_id), or both."),
    ("assign", {"user_id": 999999}, "user_id: not an active admin or agent of this organization."),
    ("assign", {"team_id": 999999}, "team_id: no such team in this organization."),
    ("bot", {"bot_id": 999999}, "bot_id: no such bot in this organization."),
    ("http_request", {"url": "ftp://example.com/x"}, "url: Only http and https URLs are allowed."),
    ("http_request", {"url": "https://{{vars.host}}/x"}, "url: placeholders may only come after the host."),
    (
        "http_request",
        {"url": "http://10.0.0.1/x"},
        "url: The host must resolve to public addresses only; a private service needs the hub's operator to allow it.",
    ),
    (
        "http_request",
        {"url": "https://public.example/x", "headers": {"Host": "evil"}},
        "headers: Host is not a header a request may set.",
    ),
    (
        "http_request",
        {"url": "https://public.example/x", "response_map": {"x": "a..b"}},
        "response_map: the path of x must be like data.items.0.name.",
    ),
    ("function", {"function_id": 999999}, "function_id: no such function in this organization."),
    ("delay", {"amount": 31, "unit": "days"}, "A delay is at most 30 days."),
    ("delay", {"amount": 5, "unit": "weeks"}, "unit must be one of: seconds, minutes, hours, days."),
    ("end", {"reason": "done"}, "Unknown fields in data: reason."),
]


@pytest.mark.parametrize(
    ("node_type", "data", "message"), BAD_DATA, ids=[f"{t}-{i}" for i, (t, _, _) in enumerate(BAD_DATA)]
)
def test_each_node_types_data_is_checked(admin_client, fake_dns, node_type, data, message):
    if node_type == "trigger":
        nodes = [node("start", "trigger", data)]
    else:
        nodes = [keyword_trigger("hi"), node("x", node_type, data)]

    errors = refused(save(admin_client, nodes))

    assert errors == {"nodes": {nodes[-1]["id"]: [message]}}


def test_rows_a_node_names_must_be_the_organizations_own(admin_client, other_org, fake_dns):
    foreign = {
        "media_id": MediaFactory(organization=other_org).pk,
        "template_id": MessageTemplateFactory(organization=other_org).pk,
        "bot_id": Bot.objects.create(organization=other_org, name="Theirs").pk,
        "function_id": CustomFunction.objects.create(organization=other_org, name="f", url="https://public.example").pk,
        "user_id": MembershipFactory(organization=other_org).user_id,
    }
    nodes = [
        keyword_trigger("hi"),
        node("m", "send_message", {"type": "image", "media_id": foreign["media_id"]}),
        node("t", "send_message", {"type": "template", "template_id": foreign["template_id"]}),
        node("f", "function", {"function_id": foreign["function_id"]}),
        node("u", "assign", {"user_id": foreign["user_id"]}),
        node("b", "bot", {"bot_id": foreign["bot_id"]}),
    ]

    errors = refused(save(admin_client, nodes))

    assert sorted(errors["nodes"]) == ["b", "f", "m", "t", "u"]


def test_a_valid_node_of_every_type_is_accepted(admin_client, org, fake_dns):
    from accounts.models import Team

    agent = MembershipFactory(organization=org, role="agent")
    nodes = [
        keyword_trigger("hi", match="contains"),
        text("send", "Hi {{contact.first_name}}"),
        node(
            "tpl",
            "send_message",
            {
                "type": "template",
                "template_id": MessageTemplateFactory(organization=org).pk,
                "parameters": {"1": "{{vars.x}}"},
            },
        ),
        node(
            "ask",
            "ask",
            {
                "question": {"type": "text", "text": "Age?"},
                "validate": "number",
                "attribute": "age",
                "timeout_minutes": 60,
                "max_attempts": 2,
                "invalid_message": "A number please",
            },
        ),
        node("cond", "condition", {"check": "attribute", "attribute": "age", "operator": "gte", "value": 18}),
        node("tag", "set_tag", {"tags": ["adult"]}),
        node("attr", "set_attribute", {"attribute": "segment", "value": "adult"}),
        node(
            "who", "assign", {"user_id": agent.user_id, "team_id": Team.objects.create(organization=org, name="T").pk}
        ),
        node(
            "http",
            "http_request",
            {
                "method": "POST",
                "url": "https://public.example/hook?c={{contact.phone}}",
                "headers": {"X-Token": "t"},
                "body": {"age": "{{contact.age}}"},
                "response_map": {"ok": "$.data[0].ok"},
                "save_to": "hook",
                "timeout_seconds": 5,
            },
        ),
        node(
            "fn",
            "function",
            {
                "function_id": CustomFunction.objects.create(
                    organization=org, name="f", url="https://public.example"
                ).pk,
                "save_to": "fn",
            },
        ),
        node("wait", "delay", {"amount": 10, "unit": "seconds"}),
        node("bot", "bot", {"bot_id": Bot.objects.create(organization=org, name="B").pk}),
        node("young", "end"),
    ]
    edges = [
        edge("start", "send"),
        edge("send", "tpl"),
        edge("tpl", "ask"),
        edge("ask", "cond"),
        edge("ask", "young", "timeout"),
        edge("cond", "tag", "yes"),
        edge("cond", "young", "no"),
        edge("tag", "attr"),
        edge("attr", "who"),
        edge("who", "http"),
        edge("http", "fn"),
        edge("http", "young", "error"),
        edge("fn", "wait"),
        edge("wait", "bot"),
    ]

    response = save(admin_client, nodes, edges)

    assert response.status_code == 201, response.content
    assert [n["type"] for n in response.json()["nodes"]] == [n["type"] for n in nodes]


# --- the checks never fail with anything but a 400 ---------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)
DATA_KEYS = sorted(
    {
        "on",
        "keywords",
        "match",
        "type",
        "text",
        "template_id",
        "parameters",
        "media_id",
        "interactive",
        "question",
        "validate",
        "choices",
        "attribute",
        "variable",
        "timeout_minutes",
        "invalid_message",
        "max_attempts",
        "check",
        "operator",
        "value",
        "tag",
        "from",
        "to",
        "days",
        "tags",
        "action",
        "user_id",
        "team_id",
        "bot_id",
        "method",
        "url",
        "headers",
        "body",
        "response_map",
        "save_to",
        "timeout_seconds",
        "function_id",
        "amount",
        "unit",
    }
)
NODE = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["a", "b", "start"]) | JSON,
        "type": st.sampled_from(list(schema.NODE_TYPES)) | JSON,
        "data": st.dictionaries(st.sampled_from(DATA_KEYS), JSON, max_size=4) | JSON,
        "position": st.fixed_dictionaries({"x": JSON, "y": JSON}) | JSON,
    }
)
EDGE = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["e1", "e2"]) | JSON,
        "source": st.sampled_from(["a", "b", "start"]) | JSON,
        "target": st.sampled_from(["a", "b", "start"]) | JSON,
        "source_handle": st.sampled_from([None, "yes", "no", "timeout"]) | JSON,
    }
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(nodes=st.lists(NODE, max_size=4) | JSON, edges=st.lists(EDGE, max_size=4) | JSON)
def test_any_json_is_either_a_valid_graph_or_a_400(org, fake_dns, nodes, edges):
    try:
        schema.validate_graph(nodes=nodes, edges=edges, organization=org)
    except ServiceError as exc:
        assert exc.status_code == 400
        assert set(exc.errors) <= {"graph", "nodes", "edges"}
