"""The automation app's pages, one list per area."""

urlpatterns: list = []
urlpatterns += __import__("automation.views.bots", fromlist=["urlpatterns"]).urlpatterns
urlpatterns += __import__("automation.views.knowledge", fromlist=["urlpatterns"]).urlpatterns
urlpatterns += __import__("automation.views.ai", fromlist=["urlpatterns"]).urlpatterns
