"""teams/ CRUD with members: admin only, members must belong to the organization, names unique per
organization, another organization's team answers 404 and stays unchanged."""

import pytest

from accounts.models import AuditLog, Team, TeamMember
from tests.assertions import assert_error
from tests.factories import MembershipFactory

TEAMS = "/api/v1/teams"


def team_url(team_id) -> str:
    return f"{TEAMS}/{team_id}"


def make_team(org, name: str, members=()) -> Team:
    team = Team.objects.create(organization=org, name=name)
    TeamMember.objects.bulk_create([TeamMember(organization=org, team=team, user=m.user) for m in members])
    return team


def member_ids(team: Team) -> list[int]:
    return sorted(TeamMember.objects.for_org(team.organization).filter(team=team).values_list("user_id", flat=True))


def test_admin_creates_a_team_with_members(org, admin_client, admin_membership, agent_membership):
    r = admin_client.post(
        TEAMS,
        {
            "name": " Support ",
            "description": "Tier 1",
            "member_ids": [agent_membership.user_id, admin_membership.user_id],
        },
        format="json",
    )

    assert r.status_code == 201, r.content
    team = Team.objects.for_org(org).get()
    body = r.json()
    assert body["id"] == team.pk
    assert (body["name"], body["description"]) == ("Support", "Tier 1")
    assert sorted(m["id"] for m in body["members"]) == sorted([agent_membership.user_id, admin_membership.user_id])
    assert {m["email"] for m in body["members"]} == {agent_membership.user.email, admin_membership.user.email}
    assert "member_ids" not in body
    assert member_ids(team) == sorted([agent_membership.user_id, admin_membership.user_id])
    assert set(TeamMember.objects.filter(team=team).values_list("organization_id", flat=True)) == {org.pk}
    entry = AuditLog.objects.for_org(org).get(action="team.create")
    assert (entry.actor, entry.target_id) == (admin_membership.user, str(team.pk))


def test_a_team_may_be_created_without_members(org, admin_client):
    r = admin_client.post(TEAMS, {"name": "Empty"}, format="json")

    assert r.status_code == 201, r.content
    assert r.json()["members"] == []
    assert Team.objects.for_org(org).get().name == "Empty"


def test_team_members_must_be_members_of_the_organization(org, admin_client, agent_membership, outsider_membership):
    body = assert_error(
        admin_client.post(
            TEAMS,
            {"name": "Mixed", "member_ids": [agent_membership.user_id, outsider_membership.user_id, 987654]},
            format="json",
        ),
        400,
    )

    assert body["errors"] == {
        "member_ids": [f"User {outsider_membership.user_id} is not a member.", "User 987654 is not a member."]
    }
    assert not Team.objects.exists()
    assert not TeamMember.objects.exists()
    assert not AuditLog.objects.filter(action="team.create").exists()


def test_a_duplicate_team_name_is_refused(org, other_org, admin_client):
    make_team(org, "Sales")
    make_team(other_org, "Billing")

    body = assert_error(admin_client.post(TEAMS, {"name": "Sales"}, format="json"), 400)

    assert body["errors"] == {"name": ["Already exists."]}
    assert Team.objects.for_org(org).count() == 1
    # The same name in another organization is no clash.
    assert admin_client.post(TEAMS, {"name": "Billing"}, format="json").status_code == 201


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"name": "A", "member_ids": "1,2"}, "member_ids"),
        ({"name": "A", "organization": 1}, "organization"),
    ],
)
def test_team_create_validates_its_input(payload, field, org, admin_client):
    body = assert_error(admin_client.post(TEAMS, payload, format="json"), 400)

    assert list(body["errors"]) == [field]
    assert not Team.objects.exists()


def test_admin_lists_the_organizations_teams_only(org, other_org, admin_client, agent_membership):
    support = make_team(org, "Support", members=[agent_membership])
    make_team(org, "Alpha")
    make_team(other_org, "Theirs")

    r = admin_client.get(TEAMS)

    assert r.status_code == 200, r.content
    body = r.json()
    assert body["count"] == 2
    assert [t["name"] for t in body["results"]] == ["Alpha", "Support"]
    assert body["results"][1]["id"] == support.pk
    assert [m["id"] for m in body["results"][1]["members"]] == [agent_membership.user_id]


def test_team_list_has_no_n_plus_one(org, admin_client, django_assert_max_num_queries):
    for n in range(20):
        make_team(org, f"T{n:02}", members=[MembershipFactory(organization=org)])

    with django_assert_max_num_queries(8):
        r = admin_client.get(TEAMS)

    assert len(r.json()["results"]) == 20


def test_admin_reads_one_team(org, admin_client, agent_membership):
    team = make_team(org, "Support", members=[agent_membership])

    r = admin_client.get(team_url(team.pk))

    assert r.status_code == 200, r.content
    assert r.json()["name"] == "Support"
    assert [m["id"] for m in r.json()["members"]] == [agent_membership.user_id]


def test_admin_renames_a_team_and_replaces_its_members(
    org, admin_client, admin_membership, agent_membership, marketing_membership
):
    team = make_team(org, "Support", members=[agent_membership, admin_membership])

    r = admin_client.patch(
        team_url(team.pk), {"name": "Care", "member_ids": [marketing_membership.user_id, admin_membership.user_id]}
    )

    assert r.status_code == 200, r.content
    assert r.json()["name"] == "Care"
    assert sorted(m["id"] for m in r.json()["members"]) == sorted(
        [marketing_membership.user_id, admin_membership.user_id]
    )
    team.refresh_from_db()
    assert team.name == "Care"
    assert member_ids(team) == sorted([marketing_membership.user_id, admin_membership.user_id])
    entry = AuditLog.objects.for_org(org).get(action="team.update")
    assert (entry.actor, entry.target_id) == (admin_membership.user, str(team.pk))


def test_patch_without_member_ids_keeps_the_members(org, admin_client, agent_membership):
    team = make_team(org, "Support", members=[agent_membership])

    r = admin_client.patch(team_url(team.pk), {"description": "Front line"})

    assert r.status_code == 200, r.content
    team.refresh_from_db()
    assert (team.name, team.description) == ("Support", "Front line")
    assert member_ids(team) == [agent_membership.user_id]


def test_patch_with_empty_member_ids_empties_the_team(org, admin_client, agent_membership):
    team = make_team(org, "Support", members=[agent_membership])

    r = admin_client.patch(team_url(team.pk), {"member_ids": []})

    assert r.status_code == 200, r.content
    assert r.json()["members"] == []
    assert member_ids(team) == []


def test_patch_refuses_strangers_and_keeps_the_team(org, admin_client, agent_membership, outsider_membership):
    team = make_team(org, "Support", members=[agent_membership])

    body = assert_error(
        admin_client.patch(team_url(team.pk), {"name": "Renamed", "member_ids": [outsider_membership.user_id]}), 400
    )

    assert list(body["errors"]) == ["member_ids"]
    team.refresh_from_db()
    assert team.name == "Support"
    assert member_ids(team) == [agent_membership.user_id]


def test_renaming_onto_an_existing_name_is_refused(org, admin_client):
    make_team(org, "Sales")
    team = make_team(org, "Support")

    body = assert_error(admin_client.patch(team_url(team.pk), {"name": "Sales"}), 400)

    assert body["errors"] == {"name": ["Already exists."]}
    team.refresh_from_db()
    assert team.name == "Support"


def test_admin_deletes_a_team_and_its_memberships(org, admin_client, admin_membership, agent_membership):
    team = make_team(org, "Support", members=[agent_membership])

    r = admin_client.delete(team_url(team.pk))

    assert r.status_code == 204, r.content
    assert not Team.objects.exists()
    assert not TeamMember.objects.exists()
    # The people stay members of the organization.
    agent_membership.refresh_from_db()
    assert agent_membership.is_active is True
    entry = AuditLog.objects.for_org(org).get(action="team.delete")
    assert (entry.actor, entry.target_id) == (admin_membership.user, str(team.pk))


def test_another_organizations_team_is_404_and_unchanged(
    other_org, admin_client, outsider_membership, agent_membership
):
    theirs = make_team(other_org, "Theirs", members=[outsider_membership])

    assert_error(admin_client.get(team_url(theirs.pk)), 404)
    assert_error(
        admin_client.patch(team_url(theirs.pk), {"name": "Mine", "member_ids": [agent_membership.user_id]}), 404
    )
    assert_error(admin_client.put(team_url(theirs.pk), {"name": "Mine"}), 404)
    assert_error(admin_client.delete(team_url(theirs.pk)), 404)

    theirs.refresh_from_db()
    assert theirs.name == "Theirs"
    assert member_ids(theirs) == [outsider_membership.user_id]
    assert not AuditLog.objects.filter(action__startswith="team.").exists()


def test_an_unknown_team_is_404(admin_client, db):
    assert_error(admin_client.get(team_url(999_999)), 404)
    assert_error(admin_client.get(f"{TEAMS}/not-a-number"), 404)


@pytest.mark.parametrize("who", ["agent", "marketing"])
def test_non_admins_cannot_manage_teams(who, org, agent_client, marketing_client, agent_membership):
    client = agent_client if who == "agent" else marketing_client
    team = make_team(org, "Support", members=[agent_membership])

    assert_error(client.get(TEAMS), 403)
    assert_error(client.get(team_url(team.pk)), 403)
    assert_error(client.post(TEAMS, {"name": "Mine"}, format="json"), 403)
    assert_error(client.patch(team_url(team.pk), {"name": "Mine", "member_ids": []}), 403)
    assert_error(client.delete(team_url(team.pk)), 403)

    assert list(Team.objects.values_list("name", flat=True)) == ["Support"]
    assert member_ids(team) == [agent_membership.user_id]
