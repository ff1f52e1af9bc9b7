"""Views covering the request paths the request signals are sent from.

A plain view, one that raises, sync and async streaming, and an async view.
"""

from collections.abc import AsyncIterator, Iterator
from decimal import Decimal

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET, require_http_methods

from .models import Customer, Order


class ShopError(Exception):
    """Raised on purpose by `fail`, so tests can tell it from a real bug."""


def _as_json(order: Order) -> dict[str, str]:
    return {"number": order.number, "total": str(order.total), "status": order.status}


@require_http_methods(["GET", "POST"])
def orders(request: HttpRequest) -> JsonResponse:
    """GET lists the orders; POST creates one from form fields."""
    if request.method == "POST":
        customer, _ = Customer.objects.get_or_create(
            email=request.POST["email"],
            defaults={"name": request.POST.get("name", "")},
        )
        order = Order.objects.create(
            customer=customer,
            number=request.POST["number"],
            total=Decimal(request.POST.get("total", "0")),
        )
        return JsonResponse(_as_json(order), status=201)
    return JsonResponse(
        {"orders": [_as_json(order) for order in Order.objects.order_by("pk")]}
    )


def fail(request: HttpRequest) -> HttpResponse:
    raise ShopError("this view always fails")


# Each handler consumes its own kind of iterator without a warning, so there
# is one streaming view for WSGI and one for ASGI.
@require_GET
def stream(request: HttpRequest) -> StreamingHttpResponse:
    def numbers() -> Iterator[str]:
        for number in Order.objects.order_by("pk").values_list("number", flat=True):
            yield f"{number}\n"

    return StreamingHttpResponse(numbers(), content_type="text/plain")


@require_GET
async def astream(request: HttpRequest) -> StreamingHttpResponse:
    async def numbers() -> AsyncIterator[str]:
        async for number in Order.objects.order_by("pk").values_list(
            "number", flat=True
        ):
            yield f"{number}\n"

    return StreamingHttpResponse(numbers(), content_type="text/plain")


@require_GET
async def order_count(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"count": await Order.objects.acount()})
