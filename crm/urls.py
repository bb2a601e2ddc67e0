from crm.api import urlpatterns as crm_urlpatterns
from crm.routing.api import urlpatterns as routing_urlpatterns

urlpatterns = [*crm_urlpatterns, *routing_urlpatterns]
