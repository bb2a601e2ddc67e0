from tests.conftest import signed_in
from tests.crm.support import deal


def test_the_board_shows_the_default_pipeline_stages(admin_membership, org):
    response = signed_in(admin_membership).get("/deals/")
    assert response.status_code == 200
    assert [s["name"] for s in response.context["pipeline_data"]["stages"]] == [
        "New",
        "Qualified",
        "Proposal",
        "Won",
        "Lost",
    ]


def test_the_deal_page_shows_its_history(agent_membership, org):
    made = deal(org, title="Fleet")
    response = signed_in(agent_membership).get(f"/deals/{made.pk}/")
    assert response.status_code == 200
    assert [(h.to_stage_name, h.to_status) for h in response.context["history"]] == [("New", "open")]
