"""CRM pages: the businesses list (search by name, a new business by its name) and a business's page (its fields
edited in a form, its contacts, the conversations with them the reader may see, its deals). Reads through the
selectors, writes through crm.services as the API does; a refusal shows next to its field."""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from accounts.permissions import IsAgent
from accounts.web import member_required
from crm import selectors, services
from crm.models import Business
from crm.serializers import money
from messaging.selectors.access import visible_number_ids
from whatsapp_hub.errors import ServiceError
from whatsapp_hub.forms import show_service_error

PAGE_SIZE = 50
FORM_METHODS = ["GET", "HEAD", "POST"]
DETAIL_LIMIT = 100


class BusinessForm(forms.Form):
    name = forms.CharField(max_length=200, label=gettext_lazy("Name"))
    website = forms.URLField(max_length=300, required=False, assume_scheme="https", label=gettext_lazy("Website"))
    industry = forms.CharField(max_length=120, required=False, label=gettext_lazy("Industry"))
    phone = forms.CharField(max_length=32, required=False, label=gettext_lazy("Phone"))
    address = forms.CharField(
        max_length=1000, required=False, label=gettext_lazy("Address"), widget=forms.Textarea(attrs={"rows": 2})
    )
    tags = forms.CharField(
        max_length=2000, required=False, label=gettext_lazy("Tags"), help_text=gettext_lazy("Separated by commas.")
    )
    notes = forms.CharField(
        max_length=10000, required=False, label=gettext_lazy("Notes"), widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(self, data=None, *, business: Business | None = None):
        initial = None
        if business is not None:
            initial = {name: getattr(business, name) for name in self.base_fields if name != "tags"}
            initial["tags"] = ", ".join(business.tags)
        super().__init__(data, initial=initial)
        for name in ("name", "industry", "address", "tags", "notes"):
            self.fields[name].widget.attrs["dir"] = "auto"
        self.fields["website"].widget.attrs["dir"] = "ltr"
        self.fields["phone"].widget.attrs["dir"] = "ltr"

    def clean_tags(self) -> list[str]:
        tags = list(dict.fromkeys(tag.strip() for tag in self.cleaned_data["tags"].split(",") if tag.strip()))
        if len(tags) > 50 or any(len(tag) > 50 for tag in tags):
            raise forms.ValidationError(_("Up to 50 tags of up to 50 characters each."))
        return tags


class NewBusinessForm(forms.Form):
    name = forms.CharField(max_length=200, label=gettext_lazy("Name"))


@require_http_methods(FORM_METHODS)
@member_required
def business_list(request):
    """The list; a POST creates a business by its name and opens its page."""
    new_form = NewBusinessForm(request.POST or None)
    if request.method == "POST" and new_form.is_valid():
        try:
            business = services.business_create(
                organization=request.org, actor=request.user, name=new_form.cleaned_data["name"]
            )
        except ServiceError as refused:
            show_service_error(new_form, refused)
        else:
            messages.success(request, _("Business created."))
            return redirect("crm-business", business_id=business.pk)
    search = request.GET.get("search", "").strip()[:200]
    businesses = selectors.business_list(org=request.org)
    if search:
        businesses = businesses.filter(name__icontains=search)
    page = Paginator(businesses, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "search": search,
        "query": f"search={search}" if search else "",
        "new_form": new_form,
    }
    return render(request, "crm/businesses.html", context)


@require_http_methods(FORM_METHODS)
@member_required
def business_detail(request, business_id: int):
    """The business's page; a POST saves its fields (business_update)."""
    business = get_object_or_404(selectors.business_list(org=request.org), pk=business_id)
    form = BusinessForm(request.POST or None, business=business)
    if request.method == "POST" and form.is_valid():
        try:
            services.business_update(business=business, actor=request.user, **form.cleaned_data)
        except ServiceError as refused:
            show_service_error(form, refused)
            business.refresh_from_db()
        else:
            messages.success(request, _("Changes saved."))
            return redirect("crm-business", business_id=business.pk)
    conversations = []
    can_open_inbox = request.role in IsAgent.roles
    if can_open_inbox:
        number_ids = visible_number_ids(org=request.org, user_id=request.user.pk, role=request.role)
        conversations = selectors.business_conversations(business=business, number_ids=number_ids).select_related(
            "contact", "number"
        )[:DETAIL_LIMIT]
    deals = list(selectors.deal_list(org=request.org).filter(business=business)[:DETAIL_LIMIT])
    for deal in deals:
        deal.value_shown = money(deal.value, deal.currency)
    context = {
        "business": business,
        "form": form,
        "contacts": selectors.business_contacts(business=business)[:DETAIL_LIMIT],
        "conversations": conversations,
        "deals": deals,
        "can_open_inbox": can_open_inbox,
    }
    return render(request, "crm/business.html", context)


urlpatterns = [
    path("businesses/", business_list, name="crm-businesses"),
    path("businesses/<id:business_id>/", business_detail, name="crm-business"),
]
