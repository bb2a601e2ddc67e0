"""The automation app's API routes, one list per area."""

urlpatterns: list = []
urlpatterns += __import__("automation.api.bots", fromlist=["urlpatterns"]).urlpatterns
urlpatterns += __import__("automation.api.ai", fromlist=["urlpatterns"]).urlpatterns
urlpatterns += __import__("automation.api.knowledge", fromlist=["urlpatterns"]).urlpatterns
