"""CRM writes: businesses and their contacts, pipelines and stages, deals (every stage or status change recorded in
DealHistory), the sales team. Keyword-only arguments, one transaction each; live pushes after commit."""

from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from accounts import services as account_services
from accounts.models import Membership, Organization, Role, User
from crm import currencies
from crm.ads import selectors as ad_selectors
from crm.models import Ad, Business, ContactBusiness, Deal, DealHistory, Outcome, Pipeline, SalesMember, Stage
from messaging import realtime
from messaging.models import Contact, Conversation
from whatsapp_hub.aftercommit import run_after_commit
from whatsapp_hub.errors import ServiceError

DEFAULT_PIPELINE = gettext_noop("Sales")
DEFAULT_STAGES = (
    (gettext_noop("New"), Outcome.OPEN),
    (gettext_noop("Qualified"), Outcome.OPEN),
    (gettext_noop("Proposal"), Outcome.OPEN),
    (gettext_noop("Won"), Outcome.WON),
    (gettext_noop("Lost"), Outcome.LOST),
)
BUSINESS_FIELDS = ("name", "website", "industry", "phone", "address", "tags", "notes")


def _invalid(field: str, message: str) -> ServiceError:
    return ServiceError(message, errors={field: [message]})


def _conflict(message: str) -> ServiceError:
    return ServiceError(message, status_code=409, code="conflict")


def _check_owner(*, organization: Organization, owner: User | None, field: str = "owner_id") -> None:
    if owner is not None and not Membership.objects.for_org(organization).filter(user=owner, is_active=True).exists():
        raise _invalid(field, gettext("Not an active member of this organization."))


def _publish_deals(organization_id: int, deals: list[Deal]) -> None:
    data = {"deals": [{"id": d.pk, "pipeline_id": d.pipeline_id, "stage_id": d.stage_id} for d in deals]}
    run_after_commit(
        lambda: realtime.publish(organization_id, [("deal.updated", data, realtime.ORGANIZATION_WIDE)]),
        what="deal.updated",
    )


# --- Businesses -----------------------------------------------------------------------------------------------


def _business_contacts_set(*, business: Business, contacts: list[Contact]) -> None:
    """These contacts, and only these, belong to `business` (a contact leaves its former business)."""
    ContactBusiness.objects.for_org(business.organization).filter(business=business).exclude(
        contact__in=contacts
    ).delete()
    for contact in contacts:
        ContactBusiness.objects.update_or_create(
            contact=contact, defaults={"business": business, "organization": business.organization}
        )


@transaction.atomic
def business_create(*, organization: Organization, actor, contacts: list[Contact] | None = None, owner=None, **fields):
    _check_owner(organization=organization, owner=owner)
    business = Business.objects.create(organization=organization, owner=owner, **fields)
    if contacts:
        _business_contacts_set(business=business, contacts=contacts)
    account_services.audit_log_write(organization=organization, actor=actor, action="business.create", target=business)
    return business


@transaction.atomic
def business_update(*, business: Business, actor, contacts: list[Contact] | None = None, **fields) -> Business:
    if "owner" in fields:
        _check_owner(organization=business.organization, owner=fields["owner"])
    for name, value in fields.items():
        setattr(business, name, value)
    business.save()
    if contacts is not None:
        _business_contacts_set(business=business, contacts=contacts)
    return business


@transaction.atomic
def business_delete(*, business: Business, actor) -> None:
    account_services.audit_log_write(
        organization=business.organization, actor=actor, action="business.delete", target=business
    )
    business.delete()  # its contacts stay (their link goes); its deals keep going without a business


@transaction.atomic
def contact_set_business(*, contact: Contact, business: Business | None) -> None:
    """A contact's business (None: none). A contact belongs to at most one."""
    if business is None:
        ContactBusiness.objects.for_org(contact.organization).filter(contact=contact).delete()
    else:
        ContactBusiness.objects.update_or_create(
            contact=contact, defaults={"business": business, "organization": contact.organization}
        )


# --- Pipelines and stages --------------------------------------------------------------------------------------


def _stages_create(pipeline: Pipeline, stages) -> None:
    Stage.objects.bulk_create(
        Stage(organization=pipeline.organization, pipeline=pipeline, name=name, outcome=outcome, position=index)
        for index, (name, outcome) in enumerate(stages)
    )


def pipeline_default(*, organization: Organization) -> Pipeline:
    """The organization's default pipeline, created on first use: "Sales" with New, Qualified, Proposal, Won, Lost
    (named in the language of the request that creates it). Safe when two requests create it at once."""
    found = Pipeline.objects.for_org(organization).filter(is_default=True).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            pipeline = Pipeline.objects.create(
                organization=organization, name=gettext(DEFAULT_PIPELINE), is_default=True
            )
            _stages_create(pipeline, [(gettext(name), outcome) for name, outcome in DEFAULT_STAGES])
            return pipeline
    except IntegrityError:
        found = Pipeline.objects.for_org(organization).filter(is_default=True).first()
        if found is None:  # the name is taken by a pipeline that is not the default: that one becomes it
            found = Pipeline.objects.for_org(organization).get(name=gettext(DEFAULT_PIPELINE))
            found.is_default = True
            found.save(update_fields=["is_default"])
        return found


def _name_taken() -> ServiceError:
    return _invalid("name", gettext("A pipeline with this name already exists."))


@transaction.atomic
def pipeline_create(*, organization: Organization, name: str, stages: list[dict] | None = None, actor) -> Pipeline:
    if Pipeline.objects.for_org(organization).filter(name=name).exists():
        raise _name_taken()
    pipeline_default(organization=organization)  # the first pipeline of an organization stays "Sales"
    pipeline = Pipeline.objects.create(organization=organization, name=name)
    given = [(stage["name"], stage.get("outcome", Outcome.OPEN)) for stage in stages or []]
    _stages_create(pipeline, given or [(gettext(name), outcome) for name, outcome in DEFAULT_STAGES])
    return pipeline


@transaction.atomic
def pipeline_update(*, pipeline: Pipeline, actor, name: str | None = None) -> Pipeline:
    if name is not None and name != pipeline.name:
        if Pipeline.objects.for_org(pipeline.organization).filter(name=name).exists():
            raise _name_taken()
        pipeline.name = name
        pipeline.save(update_fields=["name"])
    return pipeline


@transaction.atomic
def pipeline_delete(*, pipeline: Pipeline, actor) -> None:
    if pipeline.is_default:
        raise _conflict(gettext("The default pipeline cannot be deleted."))
    if Deal.objects.for_org(pipeline.organization).filter(pipeline=pipeline).exists():
        raise _conflict(gettext("This pipeline has deals: move or delete them first."))
    pipeline.delete()


@transaction.atomic
def stage_create(*, pipeline: Pipeline, name: str, outcome: str = Outcome.OPEN, actor) -> Stage:
    Pipeline.objects.select_for_update().get(pk=pipeline.pk)
    last = Stage.objects.for_org(pipeline.organization).filter(pipeline=pipeline).aggregate(m=Max("position"))["m"]
    return Stage.objects.create(
        organization=pipeline.organization,
        pipeline=pipeline,
        name=name,
        outcome=outcome,
        position=0 if last is None else last + 1,
    )


@transaction.atomic
def stage_update(*, stage: Stage, actor, name: str | None = None, outcome: str | None = None) -> Stage:
    if outcome is not None and outcome != stage.outcome:
        if Deal.objects.for_org(stage.organization).filter(stage=stage).exists():
            raise _conflict(gettext("This stage has deals: its outcome cannot change until they are moved."))
        stage.outcome = outcome
    if name is not None:
        stage.name = name
    stage.save()
    return stage


@transaction.atomic
def stages_reorder(*, pipeline: Pipeline, stage_ids: list[int], actor) -> Pipeline:
    """The pipeline's stages in this order: every one of its stage ids, once each."""
    Pipeline.objects.select_for_update().get(pk=pipeline.pk)
    stages = {s.pk: s for s in Stage.objects.for_org(pipeline.organization).filter(pipeline=pipeline)}
    if sorted(stage_ids) != sorted(stages):
        raise _invalid("stage_ids", gettext("List every stage of this pipeline exactly once."))
    for position, stage_id in enumerate(stage_ids):
        stages[stage_id].position = position
    Stage.objects.bulk_update(stages.values(), ["position"])
    return pipeline


@transaction.atomic
def stage_delete(*, stage: Stage, actor, move_to: Stage | None = None) -> None:
    """Delete a stage; its deals must be moved to another stage of the same pipeline first (`move_to`), else 409."""
    stage = Stage.objects.select_for_update().get(pk=stage.pk)
    deals = list(Deal.objects.for_org(stage.organization).filter(stage=stage).select_for_update())
    if deals and move_to is None:
        raise _conflict(
            gettext("This stage has %(count)d deals: choose a stage to move them to.") % {"count": len(deals)}
        )
    if move_to is not None and (move_to.pipeline_id != stage.pipeline_id or move_to.pk == stage.pk):
        raise _invalid("move_to", gettext("Choose another stage of the same pipeline."))
    if Stage.objects.for_org(stage.organization).filter(pipeline_id=stage.pipeline_id).count() == 1:
        raise _conflict(gettext("A pipeline keeps at least one stage."))
    for deal in deals:
        _deal_move(deal, stage=move_to, actor=actor, lost_reason=deal.lost_reason or gettext("Stage deleted"))
        deal.save()
    stage.delete()
    if deals:
        _publish_deals(stage.organization_id, deals)


# --- Deals -----------------------------------------------------------------------------------------------------


def _check_value(*, value: Decimal, currency: str) -> Decimal:
    units = currencies.minor_units(currency)
    if units is None:
        raise _invalid("currency", gettext("%(code)s is not an ISO 4217 currency code.") % {"code": currency})
    if value < 0:
        raise _invalid("value", gettext("The value cannot be negative."))
    if currencies.decimals_of(value) > units:
        raise _invalid(
            "value",
            gettext("%(code)s has %(units)d decimal places; this value has more.") % {"code": currency, "units": units},
        )
    return currencies.quantize(value, currency)


def _history(deal: Deal, *, actor, from_stage: Stage | None, from_status: str) -> None:
    DealHistory.objects.create(
        organization=deal.organization,
        deal=deal,
        actor=actor if isinstance(actor, User) else None,
        from_stage=from_stage,
        to_stage=deal.stage,
        from_stage_name=from_stage.name if from_stage else "",
        to_stage_name=deal.stage.name,
        from_status=from_status,
        to_status=deal.status,
        lost_reason=deal.lost_reason if deal.status == Outcome.LOST else "",
    )


def _first_stage(pipeline: Pipeline, outcome: str) -> Stage | None:
    return Stage.objects.for_org(pipeline.organization).filter(pipeline=pipeline, outcome=outcome).first()


def _deal_move(deal: Deal, *, actor, stage: Stage | None = None, status: str | None = None, lost_reason=None) -> None:
    """Move a deal to `stage` and/or `status` (not saved), recording the change. A stage brings its outcome as the
    status; a status brings the pipeline's first stage of that outcome when the current stage has another one."""
    from_stage, from_status = deal.stage if deal.stage_id else None, deal.status
    if stage is not None:
        if stage.pipeline_id != deal.pipeline_id:
            raise _invalid("stage_id", gettext("This stage is not in the deal's pipeline."))
        if status is not None and status != stage.outcome:
            raise _invalid("status", gettext("The status does not match the stage's outcome."))
        deal.stage = stage
        deal.status = stage.outcome
    if status is not None and stage is None:
        deal.status = status
        if deal.stage.outcome != status:
            deal.stage = _first_stage(deal.pipeline, status) or deal.stage
    if lost_reason is not None:
        deal.lost_reason = lost_reason
    if deal.status == Outcome.LOST and not deal.lost_reason.strip():
        raise _invalid("lost_reason", gettext("Say why the deal was lost."))
    if deal.status != Outcome.LOST:
        deal.lost_reason = ""
    if (from_stage, from_status) == (deal.stage, deal.status):
        return
    if deal.status == Outcome.OPEN:
        deal.closed_at = None
    elif from_status != deal.status:
        deal.closed_at = timezone.now()
    if deal.pk is not None:
        deal.save()
        _history(deal, actor=actor, from_stage=from_stage, from_status=from_status)


def _check_links(*, organization: Organization, owner, contact, business, conversation, ad=None) -> None:
    _check_owner(organization=organization, owner=owner)
    links = (("contact_id", contact), ("business_id", business), ("conversation_id", conversation), ("ad_id", ad))
    for field, row in links:
        if row is not None and row.organization_id != organization.pk:
            raise _invalid(field, gettext("Not found."))


@transaction.atomic
def deal_create(
    *,
    organization: Organization,
    actor,
    title: str,
    currency: str,
    value: Decimal = Decimal(0),
    pipeline: Pipeline | None = None,
    stage: Stage | None = None,
    status: str | None = None,
    lost_reason: str = "",
    owner: User | None = None,
    contact: Contact | None = None,
    business: Business | None = None,
    conversation: Conversation | None = None,
    expected_close_date: date | None = None,
    source: str = Deal.Source.MANUAL,
    notes: str = "",
    ad: Ad | None = None,
) -> Deal:
    """A new deal, in `stage` (else its pipeline's first stage; the pipeline defaults to the organization's default
    one). From a conversation, its contact comes along, and that contact's business, and the ad that started the
    conversation (source "ad" unless another source is given)."""
    value = _check_value(value=value, currency=currency)
    if ad is None and conversation is not None:
        ad = ad_selectors.ad_of_conversation(conversation=conversation)
    if ad is not None and source in (Deal.Source.MANUAL, Deal.Source.CONVERSATION):
        source = Deal.Source.AD
    if pipeline is None:
        pipeline = stage.pipeline if stage is not None else pipeline_default(organization=organization)
    if conversation is not None and contact is None:
        contact = conversation.contact
    if contact is not None and business is None:
        link = ContactBusiness.objects.for_org(organization).filter(contact=contact).select_related("business").first()
        business = link.business if link else None
    _check_links(
        organization=organization, owner=owner, contact=contact, business=business, conversation=conversation, ad=ad
    )
    first = Stage.objects.for_org(organization).filter(pipeline=pipeline).first()
    if first is None:
        raise _invalid("pipeline_id", gettext("This pipeline has no stages."))
    deal = Deal(
        organization=organization,
        title=title,
        value=value,
        currency=currency,
        pipeline=pipeline,
        stage=first,
        owner=owner,
        contact=contact,
        business=business,
        conversation=conversation,
        expected_close_date=expected_close_date,
        source=Deal.Source.CONVERSATION if conversation is not None and source == Deal.Source.MANUAL else source,
        ad=ad,
        notes=notes,
        created_by=actor if isinstance(actor, User) else None,
    )
    deal.status = first.outcome
    _deal_move(deal, actor=actor, stage=stage, status=status, lost_reason=lost_reason)
    deal.save()
    _history(deal, actor=actor, from_stage=None, from_status="")
    _publish_deals(organization.pk, [deal])
    return deal


@transaction.atomic
def deal_update(*, deal: Deal, actor, **fields) -> Deal:
    """Change a deal: the fields given. A new pipeline without a stage puts it in that pipeline's first stage. Stage
    and status changes are recorded in its history."""
    deal = Deal.objects.select_for_update().select_related("stage", "pipeline").get(pk=deal.pk)
    organization = deal.organization
    stage, status = fields.pop("stage", None), fields.pop("status", None)
    lost_reason = fields.pop("lost_reason", None)
    pipeline = fields.pop("pipeline", None)
    if "value" in fields or "currency" in fields:
        currency = fields.get("currency", deal.currency)
        fields["value"] = _check_value(value=fields.get("value", deal.value), currency=currency)
    _check_links(
        organization=organization,
        owner=fields.get("owner"),
        contact=fields.get("contact"),
        business=fields.get("business"),
        conversation=None,
        ad=fields.get("ad"),
    )
    for name, value in fields.items():
        setattr(deal, name, value)
    if pipeline is not None and pipeline.pk != deal.pipeline_id:
        deal.pipeline = pipeline
        if stage is None:
            stage = Stage.objects.for_org(organization).filter(pipeline=pipeline).first()
            if stage is None:
                raise _invalid("pipeline_id", gettext("This pipeline has no stages."))
    deal.save()
    _deal_move(deal, actor=actor, stage=stage, status=status, lost_reason=lost_reason)
    _publish_deals(organization.pk, [deal])
    return deal


@transaction.atomic
def deal_delete(*, deal: Deal, actor) -> None:
    account_services.audit_log_write(
        organization=deal.organization, actor=actor, action="deal.delete", target=deal, data={"title": deal.title}
    )
    organization_id = deal.organization_id
    deal.delete()
    run_after_commit(
        lambda: realtime.publish(organization_id, [("deal.updated", {"deals": []}, realtime.ORGANIZATION_WIDE)]),
        what="deal.updated",
    )


# --- Sales team ------------------------------------------------------------------------------------------------


@transaction.atomic
def sales_member_add(*, organization: Organization, name: str, email: str, phone: str = "", actor) -> SalesMember:
    """Someone on the sales team. A person without an account in the organization is invited (role agent) through
    the access list; their phone is kept here."""
    email = account_services.normalize_email(email)
    if SalesMember.objects.for_org(organization).filter(email=email).exists():
        raise _invalid("email", gettext("Already on the sales team."))
    invitation = None
    if not Membership.objects.for_org(organization).filter(user__email=email, is_active=True).exists():
        invitation = account_services.invitation_create(
            organization=organization, email=email, role=Role.AGENT, invited_by=actor
        )
    return SalesMember.objects.create(
        organization=organization, name=name, email=email, phone=phone, invitation=invitation
    )


@transaction.atomic
def sales_member_update(*, member: SalesMember, actor, name: str | None = None, phone: str | None = None):
    if name is not None:
        member.name = name
    if phone is not None:
        member.phone = phone
    member.save()
    return member


@transaction.atomic
def sales_member_remove(*, member: SalesMember, actor) -> None:
    """Off the sales team (their account, if any, stays a member of the organization)."""
    member.delete()
