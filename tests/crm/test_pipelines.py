from crm import services
from crm.models import DealHistory, Stage
from tests.crm.support import deal


def _pipeline(org):
    return services.pipeline_default(organization=org)


def test_a_stage_with_deals_cannot_be_deleted_without_moving_them(admin_client, org):
    pipeline = _pipeline(org)
    new, qualified = pipeline.stages.all()[:2]
    made = deal(org)
    refused = admin_client.delete(f"/api/v1/stages/{new.pk}")
    assert refused.status_code == 409
    assert refused.json()["detail"] == "This stage has 1 deals: choose a stage to move them to."
    assert Stage.objects.filter(pk=new.pk).exists()
    moved = admin_client.delete(f"/api/v1/stages/{new.pk}?move_to={qualified.pk}")
    assert moved.status_code == 204
    made.refresh_from_db()
    assert made.stage_id == qualified.pk
    last = DealHistory.objects.filter(deal=made).last()
    assert (last.from_stage_name, last.to_stage_name) == ("New", "Qualified")


def test_an_empty_stage_is_deleted_and_move_to_must_be_in_the_same_pipeline(admin_client, org):
    pipeline = _pipeline(org)
    other = services.pipeline_create(organization=org, name="Partners", actor=None)
    proposal = pipeline.stages.get(name="Proposal")
    deal(org, stage=proposal)
    wrong = admin_client.delete(f"/api/v1/stages/{proposal.pk}?move_to={other.stages.first().pk}")
    assert wrong.status_code == 400
    empty = pipeline.stages.get(name="Qualified")
    assert admin_client.delete(f"/api/v1/stages/{empty.pk}").status_code == 204


def test_stages_are_renamed_added_and_reordered(admin_client, org):
    pipeline = _pipeline(org)
    ids = list(pipeline.stages.values_list("pk", flat=True))
    renamed = admin_client.patch(f"/api/v1/stages/{ids[1]}", {"name": "Demo booked"}, format="json")
    assert renamed.json()["name"] == "Demo booked"
    added = admin_client.post(f"/api/v1/pipelines/{pipeline.pk}/stages", {"name": "Negotiation"}, format="json")
    assert (added.status_code, added.json()["position"]) == (201, 5)
    order = [ids[0], added.json()["id"], ids[1], ids[2], ids[3], ids[4]]
    reordered = admin_client.post(f"/api/v1/pipelines/{pipeline.pk}/reorder", {"stage_ids": order}, format="json")
    assert [s["id"] for s in reordered.json()["stages"]] == order
    incomplete = admin_client.post(f"/api/v1/pipelines/{pipeline.pk}/reorder", {"stage_ids": order[:3]}, format="json")
    assert incomplete.status_code == 400


def test_the_outcome_of_a_stage_with_deals_cannot_change(admin_client, org):
    stage = _pipeline(org).stages.get(name="Proposal")
    deal(org, stage=stage)
    response = admin_client.patch(f"/api/v1/stages/{stage.pk}", {"outcome": "won"}, format="json")
    assert response.status_code == 409


def test_a_pipeline_with_deals_or_the_default_one_is_not_deleted(admin_client, org):
    default = _pipeline(org)
    other = services.pipeline_create(organization=org, name="Partners", actor=None)
    deal(org, pipeline=other)
    assert admin_client.delete(f"/api/v1/pipelines/{default.pk}").status_code == 409
    assert admin_client.delete(f"/api/v1/pipelines/{other.pk}").status_code == 409


def test_agents_read_pipelines_but_do_not_change_them(agent_client, org):
    pipeline = _pipeline(org)
    assert agent_client.get("/api/v1/pipelines").status_code == 200
    assert agent_client.post(f"/api/v1/pipelines/{pipeline.pk}/stages", {"name": "X"}, format="json").status_code == 403


def test_moving_a_deal_to_another_pipeline_puts_it_in_its_first_stage(admin_client, org):
    made = deal(org)
    other = services.pipeline_create(
        organization=org, name="Partners", stages=[{"name": "Intro"}, {"name": "Signed", "outcome": "won"}], actor=None
    )
    body = admin_client.patch(f"/api/v1/deals/{made.pk}", {"pipeline_id": other.pk}, format="json").json()
    assert (body["pipeline_id"], body["stage_name"]) == (other.pk, "Intro")
