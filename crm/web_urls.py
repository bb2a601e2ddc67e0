from crm.business_views import urlpatterns as business_urlpatterns
from crm.views import urlpatterns as deal_urlpatterns

urlpatterns = [*deal_urlpatterns, *business_urlpatterns]
