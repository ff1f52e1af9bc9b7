from django.urls import include, path

urlpatterns = [path("shop/", include("testproject.shop.urls"))]
