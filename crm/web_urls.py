from crm.ads.views import urlpatterns as ad_urlpatterns
from crm.business_views import urlpatterns as business_urlpatterns
from crm.routing.views import urlpatterns as routing_urlpatterns
from crm.views import urlpatterns as deal_urlpatterns

urlpatterns = [*ad_urlpatterns, *deal_urlpatterns, *business_urlpatterns, *routing_urlpatterns]
