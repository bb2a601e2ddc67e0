"""The AI settings API: settings/ai, settings/openai (the seed's shape) and settings/ai/usage."""

from datetime import timedelta

from accounts.models import AuditLog
from automation.models.ai import AISettings, AIUsage
from automation.selectors.ai import organization_today
from automation.services.ai import ai_settings_save


def test_members_read_the_settings_without_the_key_or_the_address(org, agent_client, settings):
    settings.OPENAI_BASE_URL = "https://api.openai.com/v1"
    ai_settings_save(organization=org, actor=None, api_key="sk-proj-abcdefgh1234", embedding_model="emb-small")

    body = agent_client.get("/api/v1/settings/ai").json()

    assert body == {
        "configured": True,
        "embeddings_configured": True,
        "chat_model": "gpt-4o-mini",
        "embedding_model": "emb-small",
        "updated_at": body["updated_at"],
    }
    assert agent_client.get("/api/v1/settings/openai").json() == {"configured": True}


def test_admins_see_the_key_masked(org, admin_client, settings):
    settings.OPENAI_BASE_URL = "https://api.openai.com/v1"
    ai_settings_save(organization=org, actor=None, api_key="sk-proj-abcdefgh1234")

    body = admin_client.get("/api/v1/settings/ai").json()

    assert (body["api_key"], body["base_url"], body["default_base_url"]) == ("...1234", "", "https://api.openai.com/v1")
    assert admin_client.get("/api/v1/settings/openai").json() == {"configured": True, "masked_key": "...1234"}


def test_unconfigured_settings_read_as_such(admin_client):
    body = admin_client.get("/api/v1/settings/ai").json()

    assert (body["configured"], body["api_key"], body["chat_model"], body["updated_at"]) == (
        False,
        None,
        "gpt-4o-mini",
        None,
    )
    assert admin_client.get("/api/v1/settings/openai").json() == {"configured": False, "masked_key": None}


def test_an_admin_changes_only_the_fields_given_and_it_is_audited(org, admin_client, admin_membership, fake_openai):
    ai_settings_save(organization=org, actor=None, api_key="sk-old-key-0000")

    response = admin_client.post(
        "/api/v1/settings/ai",
        {"base_url": fake_openai.base_url, "chat_model": "llama3.2", "embedding_model": "nomic-embed-text"},
        format="json",
    )

    assert response.status_code == 200
    row = AISettings.objects.get(organization=org)
    assert (row.base_url, row.api_key, row.chat_model, row.embedding_model) == (
        fake_openai.base_url,
        "sk-old-key-0000",
        "llama3.2",
        "nomic-embed-text",
    )
    assert response.json()["api_key"] == "...0000"
    [log] = AuditLog.objects.filter(organization=org, action="ai_settings.update", actor=admin_membership.user)
    assert log.data == {"fields": ["base_url", "chat_model", "embedding_model"]}


def test_the_seeds_post_sets_the_key(org, admin_client):
    response = admin_client.post("/api/v1/settings/openai", {"api_key": "sk-proj-newkey9876"}, format="json")

    assert response.json() == {"status": "success", "message": "OpenAI API key saved"}
    assert AISettings.objects.get(organization=org).api_key == "sk-proj-newkey9876"


def test_the_key_is_stored_encrypted(org, admin_client):
    admin_client.post("/api/v1/settings/openai", {"api_key": "sk-proj-newkey9876"}, format="json")

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key FROM automation_aisettings")
        [(stored,)] = cursor.fetchall()
    assert "newkey" not in stored


def test_agents_may_not_change_the_settings(org, agent_client):
    ai_settings_save(organization=org, actor=None, api_key="sk-kept")

    assert agent_client.post("/api/v1/settings/ai", {"chat_model": "x"}, format="json").status_code == 403
    assert agent_client.post("/api/v1/settings/openai", {"api_key": "sk-y"}, format="json").status_code == 403
    assert agent_client.get("/api/v1/settings/ai/usage").status_code == 403
    row = AISettings.objects.get(organization=org)
    assert (row.api_key, row.chat_model) == ("sk-kept", "gpt-4o-mini")


def test_a_private_base_url_is_a_400_naming_the_field(org, admin_client):
    response = admin_client.post("/api/v1/settings/ai", {"base_url": "http://10.0.0.5:11434/v1"}, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["base_url"]
    assert not AISettings.objects.exists()


def test_a_blank_chat_model_or_a_model_with_spaces_is_refused(admin_client):
    assert admin_client.post("/api/v1/settings/ai", {"chat_model": ""}, format="json").status_code == 400
    response = admin_client.post("/api/v1/settings/ai", {"embedding_model": "two words"}, format="json")
    assert list(response.json()["errors"]) == ["embedding_model"]


def test_usage_per_day_and_model_with_totals(org, other_org, admin_client):
    today = organization_today(org)
    AIUsage.objects.create(
        organization=org, day=today, model="gpt-4o-mini", prompt_tokens=100, completion_tokens=20, requests=3
    )
    AIUsage.objects.create(organization=org, day=today - timedelta(days=1), model="emb", prompt_tokens=50, requests=1)
    AIUsage.objects.create(organization=org, day=today - timedelta(days=7), model="old", prompt_tokens=9, requests=1)
    AIUsage.objects.create(organization=other_org, day=today, model="gpt-4o-mini", prompt_tokens=1000, requests=9)

    body = admin_client.get("/api/v1/settings/ai/usage", {"days": 7}).json()

    assert body == {
        "days": 7,
        "since": (today - timedelta(days=6)).isoformat(),
        "prompt_tokens": 150,
        "completion_tokens": 20,
        "total_tokens": 170,
        "requests": 4,
        "rows": [
            {
                "day": today.isoformat(),
                "model": "gpt-4o-mini",
                "prompt_tokens": 100,
                "completion_tokens": 20,
                "total_tokens": 120,
                "requests": 3,
            },
            {
                "day": (today - timedelta(days=1)).isoformat(),
                "model": "emb",
                "prompt_tokens": 50,
                "completion_tokens": 0,
                "total_tokens": 50,
                "requests": 1,
            },
        ],
    }
    assert admin_client.get("/api/v1/settings/ai/usage").json()["requests"] == 5  # 30 days by default


def test_usage_days_out_of_range_is_a_400(admin_client):
    assert admin_client.get("/api/v1/settings/ai/usage", {"days": 0}).status_code == 400
    assert admin_client.get("/api/v1/settings/ai/usage", {"days": 367}).status_code == 400
