"""The topology's tenant, made through the hub's own models and services in its fresh database; run by run.py as
`python -m deploy.topology.seed` with the topology's environment (DJANGO_SETTINGS_MODULE=whatsapp_hub.settings).
Reads the plan (JSON) on standard input and prints what the scenario needs (ids, the API key, passwords) as one JSON
line.

One organization with:
- an admin API key (the integration's credential: the campaign, websocket tickets) and an agent (JWT, replies);
- two Cloud API numbers in the fake's WhatsApp Business Account, their webhooks signed with the fake's app secret:
  the inbox number (customers write to it; a keyword workflow answers "hours" on it) and the campaign number;
- an approved MARKETING template (the fake's library holds it too: run.py adds it) and the campaign's contacts.
"""

import json
import sys

import django


def seed(plan: dict) -> dict:
    from accounts.models import Membership, Organization, Role, User
    from accounts.services import api_key_create
    from automation.models import NumberAutomation
    from automation.services.flows import workflow_create
    from messaging.models import Contact, MessagingLimitTier, Provider, WhatsAppNumber
    from templates.models import MessageTemplate

    organization = Organization.objects.create(name="Topology", slug="topology", plan=Organization.Plan.ENTERPRISE)
    agent = User.objects.create_user(plan["agent_email"], plan["agent_password"], name="Topology Agent")
    Membership.objects.create(organization=organization, user=agent, role=Role.AGENT)
    _, api_key = api_key_create(organization=organization, name="topology", role=Role.ADMIN, actor=None)

    numbers = {}
    for key, number in plan["numbers"].items():
        numbers[key] = WhatsAppNumber.objects.create(
            organization=organization,
            display_name=f"Topology {key}",
            provider=Provider.CLOUD,
            phone_number=number["phone_number"],
            phone_number_id=number["phone_number_id"],
            waba_id=plan["waba_id"],
            access_token=plan["access_token"],
            app_secret=plan["app_secret"],
            verify_token=f"verify-{key}",
            throughput=number["throughput"],
            messaging_limit_tier=MessagingLimitTier.TIER_2K,
            is_primary=key == "inbox",
        )

    template = plan["template"]
    MessageTemplate.objects.create(
        organization=organization,
        waba_id=plan["waba_id"],
        meta_id=f"{template['name']}-{template['language']}",
        name=template["name"],
        language=template["language"],
        category=MessageTemplate.Category.MARKETING,
        status=MessageTemplate.Status.APPROVED,
        components=template["components"],
    )
    contacts = Contact.objects.bulk_create(
        Contact(organization=organization, wa_id=wa_id, phone=f"+{wa_id}", name=f"Recipient {index}")
        for index, wa_id in enumerate(plan["campaign_recipients"])
    )

    keyword = plan["keyword"]
    workflow = workflow_create(
        organization=organization,
        actor=None,
        name="Opening hours",
        trigger_type="keyword",
        keywords=[keyword["text"]],
        steps=[{"type": "send_message", "data": {"type": "text", "text": keyword["answer"]}}],
        is_active=True,
    )
    NumberAutomation.objects.create(organization=organization, number=numbers["inbox"], flow=workflow)

    return {
        "organization_id": organization.pk,
        "api_key": api_key,
        "numbers": {key: number.pk for key, number in numbers.items()},
        "contact_ids": [contact.pk for contact in contacts],
        "workflow_id": workflow.pk,
    }


def main() -> None:
    plan = json.loads(sys.stdin.read())
    django.setup()
    print(json.dumps(seed(plan)), flush=True)


if __name__ == "__main__":
    main()
