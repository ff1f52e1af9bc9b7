from django.urls import path

from . import views

app_name = "shop"
urlpatterns = [
    path("orders/", views.orders, name="orders"),
    path("orders/count/", views.order_count, name="order-count"),
    path("orders/stream/", views.stream, name="stream"),
    path("orders/astream/", views.astream, name="astream"),
    path("fail/", views.fail, name="fail"),
]
