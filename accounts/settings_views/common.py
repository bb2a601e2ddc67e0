"""What the settings pages share: the not-found page, paging."""

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.web import permission_denied

PAGE_SIZE = 50


def not_found(request):
    """A row that is not in the organization, whether it exists elsewhere or not: the same answer."""
    return permission_denied(request, reason=_("This item does not exist, or it has been deleted."), status=404)


def page_of(request, queryset: QuerySet) -> Page:
    """The requested page of a list (?page=; out of range gives the last page)."""
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
