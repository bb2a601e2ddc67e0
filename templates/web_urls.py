from templates import views

urlpatterns = views.urlpatterns
