"""The campaigns pages (web app): the list, a new campaign, a campaign."""

from campaigns.views import create, pages

urlpatterns = [*pages.urlpatterns, *create.urlpatterns]
