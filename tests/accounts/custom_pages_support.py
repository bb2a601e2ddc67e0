"""Custom pages for tests: made through the service, as admins make them."""

from accounts import services
from accounts.models import CustomPage


def markdown_page(
    org, *, title: str = "Opening hours", content: str = "# Hours\n\nNine to five.", **fields
) -> CustomPage:
    return services.custom_page_create(
        organization=org, actor=None, title=title, kind=CustomPage.Kind.MARKDOWN, content=content, **fields
    )


def url_page(org, *, title: str = "Helpdesk", url: str = "https://help.example.com/board?x=1", **fields) -> CustomPage:
    return services.custom_page_create(
        organization=org, actor=None, title=title, kind=CustomPage.Kind.URL, url=url, **fields
    )
