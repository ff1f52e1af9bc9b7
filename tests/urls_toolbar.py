"""URLs for the toolbar panel check: the example project's, the toolbar's, one more."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from signals_app.dispatch import Signal

order_placed = Signal()


def place_order(request: HttpRequest) -> HttpResponse:
    order_placed.send(sender="checkout", number=request.GET.get("number", "A1"))
    return HttpResponse("<html><body>placed</body></html>")


urlpatterns = [
    path("shop/", include("testproject.shop.urls")),
    path("place-order/", place_order),
    # Not debug_toolbar_urls(): it returns nothing while DEBUG is False, as
    # pytest-django makes it.
    path("__debug__/", include("debug_toolbar.urls")),
]
