"""Custom pages: the API (members read, admins write), the Markdown rendered safely, an external address in a
sandboxed frame with a Content-Security-Policy allowing that origin on that page only, the rail, the settings
pages."""

import pytest

from accounts import services
from accounts.markdown import link_allowed, markdown_render
from accounts.models import AuditLog, CustomPage, Role
from tests.accounts.custom_pages_support import markdown_page, url_page
from tests.accounts.test_settings_pages import field_error
from tests.conftest import signed_in
from tests.factories import MembershipFactory

API = "/api/v1/custom-pages/"


def csp_directives(response) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: " ".join(part.split()[1:]) for part in policy.split(";") if part.strip()}


# --- Markdown, escaped ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"),
        ("<img src=x onerror=alert(1)>", "<p>&lt;img src=x onerror=alert(1)&gt;</p>\n"),
        ('<a href="https://a.example">x</a>', "<p>&lt;a href=&quot;https://a.example&quot;&gt;x&lt;/a&gt;</p>\n"),
        ("<div>\n\n**b**\n\n</div>", "<p>&lt;div&gt;</p>\n<p><strong>b</strong></p>\n<p>&lt;/div&gt;</p>\n"),
        ("[x](javascript:alert(1))", "<p>[x](javascript:alert(1))</p>\n"),
        ("[x](JaVaScRiPt:alert(1))", "<p>[x](JaVaScRiPt:alert(1))</p>\n"),
        ("[x](javascript&#58;alert(1))", "<p>[x](javascript:alert(1))</p>\n"),
        ("[x](data:text/html;base64,PHNjcmlwdD4=)", "<p>[x](data:text/html;base64,PHNjcmlwdD4=)</p>\n"),
        ("<javascript:alert(1)>", "<p>&lt;javascript:alert(1)&gt;</p>\n"),
        (
            "![a](https://tracker.example/p.gif)",
            '<p>!<a href="https://tracker.example/p.gif" rel="noopener noreferrer nofollow">a</a></p>\n',
        ),
        ('![a](x" onerror="alert(1))', "<p>![a](x&quot; onerror=&quot;alert(1))</p>\n"),
    ],
)
def test_markdown_shows_raw_html_as_text_and_drops_unsafe_links(text, html):
    assert markdown_render(text) == html


def test_markdown_keeps_http_mailto_and_site_links_with_rel():
    rendered = markdown_render("[a](https://a.example/x) [m](mailto:team@example.com) [i](/inbox/) **b**")
    assert rendered == (
        '<p><a href="https://a.example/x" rel="noopener noreferrer nofollow">a</a> '
        '<a href="mailto:team@example.com" rel="noopener noreferrer nofollow">m</a> '
        '<a href="/inbox/" rel="noopener noreferrer nofollow">i</a> <strong>b</strong></p>\n'
    )


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://a.example", True),
        ("HTTP://a.example", True),
        ("mailto:a@example.com", True),
        ("/settings/", True),
        ("#top", True),
        ("javascript:alert(1)", False),
        ("java\tscript:alert(1)", False),
        (" \x01javascript:alert(1)", False),
        ("vbscript:x", False),
        ("file:///etc/passwd", False),
        ("data:text/html,x", False),
    ],
)
def test_link_allowed(url, allowed):
    assert link_allowed(url) is allowed


# --- API -----------------------------------------------------------------------------------------------------------


def test_admin_creates_a_markdown_page_and_every_member_reads_it(admin_client, agent_client, org):
    r = admin_client.post(
        API, {"title": " Rules ", "kind": "markdown", "icon": "shield", "position": 3, "content": "<b>x</b>"}
    )
    assert r.status_code == 201, r.content
    page = CustomPage.objects.get()
    assert (page.organization, page.title, page.icon, page.position, page.url) == (org, "Rules", "shield", 3, "")
    assert AuditLog.objects.filter(organization=org, action="custom_page.create").count() == 1
    body = agent_client.get(f"{API}{page.pk}/").json()
    assert body["html"] == "<p>&lt;b&gt;x&lt;/b&gt;</p>\n"
    assert agent_client.get(API).json()["count"] == 1


@pytest.mark.parametrize("role_client", ["agent_client", "marketing_client"])
def test_non_admins_cannot_write(role_client, request, org):
    client = request.getfixturevalue(role_client)
    page = markdown_page(org)
    assert client.post(API, {"title": "x", "kind": "markdown", "content": "y"}).status_code == 403
    assert client.patch(f"{API}{page.pk}/", {"title": "changed"}).status_code == 403
    assert client.delete(f"{API}{page.pk}/").status_code == 403
    page.refresh_from_db()
    assert (CustomPage.objects.count(), page.title) == (1, "Opening hours")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "x", "kind": "url", "url": "javascript:alert(1)"}, "url"),
        ({"title": "x", "kind": "url", "url": "ftp://files.example/"}, "url"),
        ({"title": "x", "kind": "url", "url": "https://user:pw@a.example/"}, "url"),
        ({"title": "x", "kind": "url", "url": "https://a.example:99999/"}, "url"),
        ({"title": "x", "kind": "markdown", "content": "  "}, "content"),
        ({"title": "  ", "kind": "markdown", "content": "y"}, "title"),
        ({"title": "x", "kind": "markdown", "content": "y", "icon": "nope"}, "icon"),
        ({"title": "x", "kind": "html", "content": "y"}, "kind"),
        ({"title": "x", "kind": "markdown", "content": "y", "position": -1}, "position"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(admin_client, body, field):
    r = admin_client.post(API, body, format="json")
    assert r.status_code == 400, r.content
    assert list(r.json()["errors"]) == [field]
    assert CustomPage.objects.count() == 0


def test_changing_the_kind_clears_the_other_field(admin_client, org):
    page = markdown_page(org)
    r = admin_client.patch(f"{API}{page.pk}/", {"kind": "url", "url": "https://help.example.com/"}, format="json")
    assert r.status_code == 200, r.content
    page.refresh_from_db()
    assert (page.kind, page.url, page.content, r.json()["html"]) == ("url", "https://help.example.com/", "", None)


def test_an_organization_has_at_most_twenty_pages(admin_client, org):
    for number in range(services.CUSTOM_PAGES_MAX):
        markdown_page(org, title=f"Page {number}")
    r = admin_client.post(API, {"title": "One more", "kind": "markdown", "content": "x"})
    assert r.status_code == 400
    assert r.json()["detail"] == "An organization has at most 20 custom pages: delete one first."
    assert CustomPage.objects.count() == services.CUSTOM_PAGES_MAX


def test_delete_is_audited(admin_client, org):
    page = markdown_page(org)
    assert admin_client.delete(f"{API}{page.pk}/").status_code == 204
    assert CustomPage.objects.count() == 0
    assert AuditLog.objects.get(action="custom_page.delete").data == {"title": "Opening hours"}


# --- the page ------------------------------------------------------------------------------------------------------


def test_a_markdown_page_is_shown_escaped_to_a_member_with_the_default_policy(agent_membership, org):
    page = markdown_page(org, content="# Hi\n\n<script>alert(1)</script> [x](javascript:alert(1))")
    r = signed_in(agent_membership).get(f"/pages/{page.pk}/")
    html = r.content.decode()
    assert r.status_code == 200
    assert "<h1>Hi</h1>" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert 'href="javascript' not in html
    assert "frame-src" not in csp_directives(r)
    assert csp_directives(r)["default-src"] == "'self'"


def test_a_url_page_frames_only_its_origin_sandboxed(agent_membership, org):
    page = url_page(org, url="https://help.example.com:8443/board?x=1&y=2")
    r = signed_in(agent_membership).get(f"/pages/{page.pk}/")
    html = r.content.decode()
    assert r.status_code == 200
    assert csp_directives(r)["frame-src"] == "https://help.example.com:8443"
    assert csp_directives(r)["frame-ancestors"] == "'none'"
    assert (
        '<iframe class="custom-page-iframe" src="https://help.example.com:8443/board?x=1&amp;y=2" title="Helpdesk" '
        'sandbox="allow-scripts allow-forms allow-popups" referrerpolicy="no-referrer"'
    ) in html
    assert "allow-same-origin" not in html
    # Another page keeps the default: the origin is allowed on that page only.
    other = signed_in(agent_membership).get("/dashboard/")
    assert "frame-src" not in csp_directives(other)


def test_the_rail_lists_the_pages_in_order_for_every_member(marketing_membership, org, other_org):
    markdown_page(org, title="Second", position=2, icon="bell")
    first = url_page(org, title="First", position=1, icon="globe")
    markdown_page(other_org, title="Elsewhere")
    html = signed_in(marketing_membership).get(f"/pages/{first.pk}/").content.decode()
    assert html.index(">First</span>") < html.index(">Second</span>")
    assert "Elsewhere" not in html
    assert f'href="/pages/{first.pk}/" class="rail-item is-current" aria-current="page"' in html
    assert "#globe" in html and "#bell" in html


def test_another_organizations_page_is_a_404(outsider_membership, org):
    page = markdown_page(org)
    r = signed_in(outsider_membership).get(f"/pages/{page.pk}/")
    assert r.status_code == 404
    assert "Nine to five" not in r.content.decode()


# --- settings pages ------------------------------------------------------------------------------------------------


def test_admin_adds_edits_and_deletes_a_page_in_settings(admin_membership, org):
    admin = signed_in(admin_membership)
    assert "No custom pages yet" in admin.get("/settings/custom-pages/").content.decode()
    r = admin.post(
        "/settings/custom-pages/new/",
        {"title": "Board", "icon": "globe", "position": "1", "kind": "url", "url": "http://board.example/"},
    )
    assert r.status_code == 302
    page = CustomPage.objects.get(organization=org)
    assert (page.title, page.kind, page.url) == ("Board", "url", "http://board.example/")
    r = admin.post(
        f"/settings/custom-pages/{page.pk}/",
        {"title": "Board", "icon": "globe", "position": "1", "kind": "url", "url": "javascript:alert(1)"},
    )
    assert field_error("url", "Give a full http:// or https:// address (without a user name or password).") in (
        r.content.decode()
    )
    page.refresh_from_db()
    assert page.url == "http://board.example/"
    assert admin.post(f"/settings/custom-pages/{page.pk}/delete/").status_code == 302
    assert CustomPage.objects.count() == 0


def test_agents_get_the_permission_denied_page_in_settings(org):
    agent = signed_in(MembershipFactory(organization=org, role=Role.AGENT))
    assert agent.get("/settings/custom-pages/").status_code == 403
    r = agent.post(
        "/settings/custom-pages/new/",
        {"title": "x", "icon": "file", "position": "0", "kind": "markdown", "content": "y"},
    )
    assert r.status_code == 403
    assert CustomPage.objects.count() == 0
