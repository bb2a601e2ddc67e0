"""The flows pages: the list and the builder, for admins only; what the builder's script gets (the flow as the API
shows it, the organization's rows a node may name, the words of the page)."""

import json

import pytest
from django.utils.html import escape

from automation.models import NumberAutomation
from tests.automation.flows_support import custom_function, sandbox_number, simple_flow
from tests.conftest import signed_in
from tests.templates.factories import MessageTemplateFactory


def builder_data(response) -> dict:
    html = response.content.decode()
    start = html.index('<script id="flow-builder-data" type="application/json">') + len(
        '<script id="flow-builder-data" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


def test_the_list_shows_the_organizations_flows_and_the_numbers_using_them(admin_membership, other_org):
    org = admin_membership.organization
    flow = simple_flow(org)
    flow.name = "Menu <b>"
    flow.save()
    number = sandbox_number(org, display_name="Riyadh line")
    NumberAutomation.objects.create(organization=org, number=number, flow=flow)
    simple_flow(other_org)

    response = signed_in(admin_membership).get("/automation/flows/")

    assert response.status_code == 200
    html = response.content.decode()
    assert escape("Menu <b>") in html and "Menu <b>" not in html
    assert "Riyadh line" in html
    assert [row["flow"].pk for row in response.context["rows"]] == [flow.pk]


@pytest.mark.parametrize("role_membership", ["agent_membership", "marketing_membership"])
def test_the_flows_pages_are_for_admins(request, role_membership, admin_membership):
    flow = simple_flow(admin_membership.organization)
    browser = signed_in(request.getfixturevalue(role_membership))

    for url in ("/automation/flows/", "/automation/flows/new/", f"/automation/flows/{flow.pk}/"):
        response = browser.get(url)
        assert response.status_code == 403
        assert "Flows are for admins of Acme. Ask an admin for access." in response.content.decode()


def test_the_builder_gets_the_flow_and_the_rows_its_nodes_may_name(admin_membership, other_org):
    org = admin_membership.organization
    flow = simple_flow(org)
    template = MessageTemplateFactory(organization=org, name="order_update", language="en_US")
    MessageTemplateFactory(organization=org, status="REJECTED")
    MessageTemplateFactory(organization=other_org)
    function = custom_function(org, name="Lookup")
    custom_function(other_org)
    number = sandbox_number(org, display_name="Sandbox", phone_number="+16505550100")

    data = builder_data(signed_in(admin_membership).get(f"/automation/flows/{flow.pk}/"))

    assert (data["flow"]["id"], data["flow"]["nodes"], data["flow"]["version"]) == (flow.pk, flow.nodes, 1)
    assert data["options"]["templates"] == [{"id": template.pk, "label": "order_update (en_US)"}]
    assert data["options"]["functions"] == [{"id": function.pk, "label": "Lookup"}]
    assert data["options"]["sandbox_numbers"] == [{"id": number.pk, "label": "Sandbox +16505550100"}]
    assert data["options"]["users"] == [
        {"id": admin_membership.user_id, "label": admin_membership.user.name or admin_membership.user.email}
    ]
    assert data["types"]["ask"]["handles"] == ["", "timeout", "invalid"]
    assert data["types"]["condition"]["handles"] == ["yes", "no"]
    assert data["urls"]["builder"] == "/automation/flows/0/"


def test_a_new_flow_opens_an_empty_builder(admin_membership):
    response = signed_in(admin_membership).get("/automation/flows/new/")

    assert response.status_code == 200
    assert builder_data(response)["flow"] is None
