from templates import api

urlpatterns = api.urlpatterns
