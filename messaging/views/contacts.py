"""The contacts pages: the list (search, tag filter, pages), a new contact, a contact (edit, opt-out, conversations,
delete), CSV import and export. They read through the contacts selectors, write through the services the contacts
API calls, and follow the API's role rules (messaging/api/contacts.py): every member lists, reads, creates and edits
contacts and opts one out; marketing and admins also delete, import, export and opt a contact back in."""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.permissions import IsAgent, IsMarketing
from accounts.web import member_required, permission_denied
from messaging.models import Contact
from messaging.selectors import contacts as selectors
from messaging.selectors.access import only_visible_numbers, visible_number_ids
from messaging.selectors.conversations import conversation_list
from messaging.services import contacts as services
from messaging.services import erasure
from whatsapp_hub.errors import ServiceError
from whatsapp_hub.forms import show_service_error

PAGE_SIZE = 50
FORM_METHODS = ["GET", "HEAD", "POST"]
EXPORT_CHUNK_SIZE = 1000
# The API's IsMarketing: deleting, the bulk routes and opting a contact back in.
MANAGERS = IsMarketing.roles
# The API's IsAgent: who may open the inbox, so whom the contact's conversations are linked for.
INBOX_ROLES = IsAgent.roles


REFUSALS = {
    "delete": gettext_lazy("Deleting contacts is for marketing and admins of %(org)s. Ask an admin for access."),
    "export": gettext_lazy("Exporting contacts is for marketing and admins of %(org)s. Ask an admin for access."),
    "import": gettext_lazy("Importing contacts is for marketing and admins of %(org)s. Ask an admin for access."),
    "opt_in": gettext_lazy(
        "Opting a contact back in is for marketing and admins of %(org)s: ask one of them when the customer wants "
        "marketing messages again."
    ),
}


def _refused(request, action: str):
    return permission_denied(request, reason=REFUSALS[action] % {"org": request.org.name})


# --- the list ------------------------------------------------------------------------------------------------------


class ContactFilterForm(forms.Form):
    """The list's filters, named as the API's (`search`, `tag`) so the export takes the same query string."""

    search = forms.CharField(required=False, label=gettext_lazy("Search"))
    tag = forms.CharField(required=False, label=gettext_lazy("Tag"))

    def __init__(self, data, *, tags: list[str]):
        super().__init__(data)
        current = data.get("tag", "")
        names = tags if not current or current in tags else [*tags, current]
        self.fields["tag"].widget = forms.Select(choices=[("", _("All tags")), *((name, name) for name in names)])


def _filtered(request, *, tags: list[str]) -> tuple[ContactFilterForm, QuerySet[Contact]]:
    """The filter form and the organization's contacts it selects (as the API's `search` and `tag` filters do)."""
    form = ContactFilterForm(request.GET, tags=tags)
    form.is_valid()  # two optional text fields: always valid
    contacts = selectors.contact_list(org=request.org)
    contacts = selectors.contacts_matching(contacts, org=request.org, text=form.cleaned_data["search"])
    if form.cleaned_data["tag"]:
        contacts = selectors.contacts_tagged(contacts, org=request.org, tag=form.cleaned_data["tag"])
    return form, contacts


@require_safe
@member_required
def contact_list(request):
    tags = selectors.tag_names(org=request.org)
    form, contacts = _filtered(request, tags=tags)
    page = Paginator(contacts, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "filtered": bool(form.cleaned_data["search"] or form.cleaned_data["tag"]),
        "query": query.urlencode(),
        "can_manage": request.role in MANAGERS,
    }
    return render(request, "messaging/contacts.html", context)


@require_safe
@member_required
def contact_export(request):
    """The contacts the list shows (same filters) as the API's CSV export."""
    if request.role not in MANAGERS:
        return _refused(request, "export")
    contacts = _filtered(request, tags=[])[1]
    rows = services.contacts_export_csv(contacts.iterator(chunk_size=EXPORT_CHUNK_SIZE))
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="contacts-{timezone.now():%Y%m%d-%H%M%S}.csv"'
    return response


# --- one contact ---------------------------------------------------------------------------------------------------


class TagNamesField(forms.Field):
    """Several values of one name (the checked tag boxes), as a list of trimmed names."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[str]:
        return [name.strip() for name in value or () if name.strip()]


class AttributesField(forms.CharField):
    """A contact's attributes as `key: value` lines (only for attributes that are all one-line text)."""

    widget = forms.Textarea(attrs={"rows": 3, "dir": "auto"})

    @staticmethod
    def editable(attributes: dict) -> bool:
        return all(
            isinstance(value, str) and "\n" not in value and ":" not in key and "\n" not in key
            for key, value in attributes.items()
        )

    @staticmethod
    def as_text(attributes: dict) -> str:
        return "\n".join(f"{key}: {value}" for key, value in attributes.items())

    def to_python(self, value) -> dict:
        attributes: dict[str, str] = {}
        for number, line in enumerate((super().to_python(value) or "").splitlines(), start=1):
            if not line.strip():
                continue
            key, colon, text = line.partition(":")
            if not colon or not key.strip():
                raise forms.ValidationError(_("Line %(line)d: write it as key: value.") % {"line": number})
            if key.strip() in attributes:
                raise forms.ValidationError(_("Line %(line)d: %(key)s is there twice.") % {"line": number, "key": key})
            attributes[key.strip()] = text.strip()
        return attributes


class ContactForm(forms.Form):
    """A contact's fields as the API's input takes them; the tags kept (checked boxes) plus the new ones typed."""

    name = forms.CharField(required=False, max_length=services.NAME_MAX_LENGTH, label=gettext_lazy("Name"))
    phone = forms.CharField(
        max_length=32,
        label=gettext_lazy("Phone number"),
        help_text=gettext_lazy("International format with the country code, e.g. +966 50 123 4567."),
    )
    tags = TagNamesField(required=False, label=gettext_lazy("Tags"))
    new_tags = forms.CharField(
        required=False,
        max_length=1000,
        label=gettext_lazy("Add tags"),
        help_text=gettext_lazy("Separate several tags with commas."),
    )
    attributes = AttributesField(
        required=False,
        label=gettext_lazy("Attributes"),
        help_text=gettext_lazy("One per line, as key: value (e.g. city: Riyadh)."),
    )
    # No max_length here: a browser sends a textarea's line breaks as two characters; the service counts them as one.
    notes = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"maxlength": services.NOTES_MAX_LENGTH}),
        label=gettext_lazy("Notes"),
        help_text=gettext_lazy("For your team: the customer does not see them."),
    )
    is_active = forms.BooleanField(required=False, initial=True, label=gettext_lazy("Active"))

    # The service's argument -> the field its errors go next to.
    SERVICE_FIELDS = {"tags": "new_tags"}

    def __init__(self, data=None, *, contact: Contact | None = None):
        initial = None
        if contact is not None:
            initial = {
                "name": contact.name,
                "phone": contact.phone,
                "tags": [tag.name for tag in contact.tags.all()],
                "attributes": AttributesField.as_text(contact.attributes),
                "notes": contact.notes,
                "is_active": contact.is_active,
            }
        super().__init__(data, initial=initial)
        if contact is None:
            del self.fields["is_active"]  # a new contact is active
        else:
            # A contact known only by Meta's user id may be saved without adding a number.
            self.fields["phone"].required = bool(contact.phone)
            if not AttributesField.editable(contact.attributes):
                del self.fields["attributes"]  # structured values: left as they are (the API edits them)

    def tag_values(self) -> list[str]:
        """The tag boxes to show: the kept ones, or (a form sent back with errors) the ones that were checked."""
        return self["tags"].value() or []

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        arguments = {
            "name": data["name"],
            "tags": [*data["tags"], *services.TAG_SEPARATORS.split(data["new_tags"])],
            "notes": data["notes"],
        }
        if data["phone"]:
            arguments["phone"] = data["phone"]
        for optional in ("attributes", "is_active"):
            if optional in self.fields:
                arguments[optional] = data[optional]
        return arguments


class OptOutForm(forms.Form):
    opted_out = forms.TypedChoiceField(choices=[("true", "true"), ("false", "false")], coerce="true".__eq__)


class DeleteForm(forms.Form):
    confirm = forms.CharField(label=gettext_lazy("Type the contact's name or number to confirm"))

    def __init__(self, data=None, *, contact: Contact):
        super().__init__(data)
        self.contact = contact

    def accepted(self) -> list[str]:
        """What may be typed: the contact's name as the page shows it, their phone number or its digits."""
        return sorted({str(self.contact), self.contact.phone, self.contact.wa_id} - {"", None})

    def clean_confirm(self) -> str:
        typed = self.cleaned_data["confirm"].strip()
        if typed not in self.accepted():
            raise forms.ValidationError(_("That is not this contact's name or number."))
        return typed


def _contact_or_404(request, contact_id: int) -> Contact:
    """The organization's contact, with its tags; another organization's is a 404, as a missing one."""
    return get_object_or_404(selectors.contact_list(org=request.org), pk=contact_id)


def _render_contact(request, contact: Contact, *, form=None, delete_form=None, status: int = 200):
    conversations = []
    if request.role in INBOX_ROLES:
        number_ids = visible_number_ids(org=request.org, user_id=request.user.pk, role=request.role)
        conversations = only_visible_numbers(conversation_list(org=request.org).filter(contact=contact), number_ids)
    context = {
        "contact": contact,
        "form": form or ContactForm(contact=contact),
        "delete_form": delete_form or DeleteForm(contact=contact),
        "conversations": conversations,
        "tags": selectors.tag_names(org=request.org),
        "can_manage": request.role in MANAGERS,
        "can_open_inbox": request.role in INBOX_ROLES,
    }
    return render(request, "messaging/contacts_detail.html", context, status=status)


@require_http_methods(FORM_METHODS)
@member_required
def contact_create(request):
    form = ContactForm(request.POST) if request.method == "POST" else ContactForm()
    if form.is_bound and form.is_valid():
        try:
            contact = services.contact_create(organization=request.org, **form.service_arguments())
        except ServiceError as refused:
            show_service_error(form, refused, fields=ContactForm.SERVICE_FIELDS)
        else:
            messages.success(request, _("Contact created."))
            return redirect("contact-detail", contact_id=contact.pk)
    context = {"form": form, "tags": selectors.tag_names(org=request.org)}
    return render(request, "messaging/contacts_new.html", context)


@require_http_methods(FORM_METHODS)
@member_required
def contact_detail(request, contact_id: int):
    contact = _contact_or_404(request, contact_id)
    if request.method != "POST":
        return _render_contact(request, contact)
    form = ContactForm(request.POST, contact=contact)
    if form.is_valid():
        try:
            services.contact_update(contact=contact, **form.service_arguments())
        except ServiceError as refused:
            show_service_error(form, refused, fields=ContactForm.SERVICE_FIELDS)
            contact.refresh_from_db()  # the page's header shows the contact as stored, not as typed
        else:
            messages.success(request, _("Changes saved."))
            return redirect("contact-detail", contact_id=contact.pk)
    return _render_contact(request, contact, form=form)


@require_POST
@member_required
def contact_opt_out(request, contact_id: int):
    """Opt the contact out of marketing (anyone), or back in (marketing and admins: a consent decision)."""
    contact = _contact_or_404(request, contact_id)
    form = OptOutForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose to opt the contact out or back in."))
        return redirect("contact-detail", contact_id=contact.pk)
    opted_out = form.cleaned_data["opted_out"]
    if not opted_out and request.role not in MANAGERS:
        return _refused(request, "opt_in")
    services.contact_set_opted_out(contact=contact, opted_out=opted_out, actor=request.user, source="web")
    if opted_out:
        messages.success(request, _("Opted out: this contact gets no marketing messages."))
    else:
        messages.success(request, _("Opted back in: this contact may get marketing messages again."))
    return redirect("contact-detail", contact_id=contact.pk)


@require_POST
@member_required
def contact_delete(request, contact_id: int):
    """The API's delete: the contact's erasure, with their conversations and messages."""
    contact = _contact_or_404(request, contact_id)
    if request.role not in MANAGERS:
        return _refused(request, "delete")
    delete_form = DeleteForm(request.POST, contact=contact)
    if not delete_form.is_valid():
        return _render_contact(request, contact, delete_form=delete_form)
    erasure.contact_delete(contact=contact, actor=request.user)
    messages.success(request, _("%(name)s was deleted with their conversations.") % {"name": contact})
    return redirect("contacts")


# --- CSV import ----------------------------------------------------------------------------------------------------


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"), widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"})
    )


@require_http_methods(FORM_METHODS)
@member_required
def contact_import(request):
    """The API's import, run here and now (it is synchronous): the counts, and the skipped rows by row and column."""
    if request.role not in MANAGERS:
        return _refused(request, "import")
    form = ImportForm(request.POST, request.FILES) if request.method == "POST" else ImportForm()
    result = None
    if form.is_bound and form.is_valid():
        try:
            result = services.contact_import_csv(
                organization=request.org, file=form.cleaned_data["file"], actor=request.user
            )
        except ServiceError as refused:
            form.add_error("file", refused.detail)  # every refusal of an import is about its file
    context = {
        "form": form,
        "result": result,
        "hidden_errors": result.skipped - len(result.row_errors) if result else 0,
        "max_megabytes": services.IMPORT_MAX_BYTES // (1024 * 1024),
    }
    return render(request, "messaging/contacts_import.html", context)


urlpatterns = [
    path("contacts/", contact_list, name="contacts"),
    path("contacts/new/", contact_create, name="contact-create"),
    path("contacts/import/", contact_import, name="contacts-import"),
    path("contacts/export/", contact_export, name="contacts-export"),
    path("contacts/<id:contact_id>/", contact_detail, name="contact-detail"),
    path("contacts/<id:contact_id>/opt-out/", contact_opt_out, name="contact-opt-out"),
    path("contacts/<id:contact_id>/delete/", contact_delete, name="contact-delete"),
]
