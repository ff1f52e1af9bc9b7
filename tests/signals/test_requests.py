"""
request_started, request_finished and got_request_exception reach our
receivers from both handlers: WSGI and ASGI, the test clients' and the real
ones, streaming responses included.
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import async_to_sync
from django.core import signals as django_signals
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.test import AsyncClient, Client, RequestFactory
from django.test.client import AsyncClientHandler, ClientHandler

from signals_app import signals
from testproject.asgi import application as asgi_application
from testproject.wsgi import application as wsgi_application
from tests.factories import OrderFactory
from tests.recorder import assert_same_calls

OURS = [signals.request_started, signals.request_finished]
DJANGOS = [django_signals.request_started, django_signals.request_finished]

# Answered by Django's 404 view: no database involved.
MISSING = "/no/such/page/"


def _asgi_scope(path):
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


# Both servers run the application in a thread of their own, like a real
# server's: Django's own receivers then close that thread's database
# connections rather than the test's.


def _serve_asgi(application, scope):
    """Run one request through an ASGI application; return the messages sent."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _serve(application, scope)).result()


async def _serve(application, scope):
    requested = False
    messages = []

    async def receive():
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        # The client stays connected until the handler is done with it.
        await asyncio.Event().wait()

    async def send(message):
        messages.append(message)

    await application(scope, receive, send)
    return messages


def _serve_wsgi(application, environ):
    """Run one request through a WSGI application, as a server would."""
    statuses = []

    def serve():
        response = application(environ, lambda status, headers: statuses.append(status))
        try:
            return b"".join(response)
        finally:
            response.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(serve).result()
    return statuses


@pytest.mark.django_db
def test_test_client_request(record, client):
    ours = record(OURS)
    theirs = record(DJANGOS)

    response = client.get("/shop/orders/")

    assert response.status_code == 200
    assert_same_calls(ours, theirs)
    assert [(call.signal, call.sender) for call in ours.calls] == [
        (signals.request_started, ClientHandler),
        # The test client's responses name no handler class.
        (signals.request_finished, None),
    ]
    environ = ours.calls[0].kwargs["environ"]
    assert ours.calls[0].kwargs.keys() == {"environ"}
    assert environ["PATH_INFO"] == "/shop/orders/"
    assert ours.calls[1].kwargs == {}


def test_wsgi_handler_request(record):
    ours = record(OURS)
    theirs = record(DJANGOS)
    environ = RequestFactory().get(MISSING).environ

    statuses = _serve_wsgi(wsgi_application, environ)

    assert statuses == ["404 Not Found"]
    assert_same_calls(ours, theirs)
    assert [(call.signal, call.sender) for call in ours.calls] == [
        (signals.request_started, WSGIHandler),
        (signals.request_finished, WSGIHandler),
    ]
    assert ours.calls[0].kwargs == {"environ": environ}


@pytest.mark.django_db
def test_async_client_request(record, async_client):
    ours = record(OURS)
    theirs = record(DJANGOS)

    response = async_to_sync(async_client.get)("/shop/orders/count/")

    assert response.json() == {"count": 0}
    assert_same_calls(ours, theirs)
    assert [(call.signal, call.sender) for call in ours.calls] == [
        (signals.request_started, AsyncClientHandler),
        (signals.request_finished, None),
    ]
    assert ours.calls[0].kwargs.keys() == {"scope"}
    assert ours.calls[0].kwargs["scope"]["path"] == "/shop/orders/count/"


def test_asgi_handler_request(record):
    ours = record(OURS)
    theirs = record(DJANGOS)
    scope = _asgi_scope(MISSING)

    messages = _serve_asgi(asgi_application, scope)

    assert messages[0]["status"] == 404
    assert_same_calls(ours, theirs)
    assert [(call.signal, call.sender) for call in ours.calls] == [
        (signals.request_started, ASGIHandler),
        (signals.request_finished, ASGIHandler),
    ]
    assert ours.calls[0].kwargs == {"scope": scope}


@pytest.mark.django_db
def test_streaming_response_finishes_once_consumed(record, client):
    OrderFactory(number="S-1")
    finished = record(signals.request_finished)

    response = client.get("/shop/orders/stream/")
    before = list(finished.calls)
    body = b"".join(response.streaming_content)

    assert before == []
    assert body == b"S-1\n"
    assert len(finished.calls) == 1


@pytest.mark.django_db
def test_streaming_response_finishes_when_closed_unread(record, client):
    finished = record(signals.request_finished)

    response = client.get("/shop/orders/stream/")
    before = list(finished.calls)
    response.close()

    assert before == []
    assert len(finished.calls) == 1


@pytest.mark.django_db
def test_async_streaming_response_finishes_once_consumed(record, async_client):
    OrderFactory(number="A-1")
    finished = record(signals.request_finished)

    @async_to_sync
    async def fetch():
        response = await async_client.get("/shop/orders/astream/")
        before = list(finished.calls)
        return before, [chunk async for chunk in response.streaming_content]

    before, chunks = fetch()

    assert before == []
    assert chunks == [b"A-1\n"]
    assert len(finished.calls) == 1


def test_got_request_exception_under_wsgi(record):
    ours = record(signals.got_request_exception)
    theirs = record(django_signals.got_request_exception)

    response = Client(raise_request_exception=False).get("/shop/fail/")

    assert response.status_code == 500
    assert_same_calls(ours, theirs)
    assert ours.senders == [None]
    request = ours.calls[0].kwargs["request"]
    assert isinstance(request, WSGIRequest)
    assert request.path == "/shop/fail/"


def test_got_request_exception_under_asgi(record):
    ours = record(signals.got_request_exception)
    theirs = record(django_signals.got_request_exception)
    client = AsyncClient(raise_request_exception=False)

    response = async_to_sync(client.get)("/shop/fail/")

    assert response.status_code == 500
    assert_same_calls(ours, theirs)
    assert ours.senders == [None]
    assert ours.calls[0].kwargs["request"].path == "/shop/fail/"


def test_no_got_request_exception_for_a_page_not_found(record):
    ours = record(signals.got_request_exception)

    response = Client().get(MISSING)

    assert response.status_code == 404
    assert ours.calls == []


def test_async_receiver_under_asgi(record, async_client):
    called = record(signals.request_started, is_async=True)

    async_to_sync(async_client.get)(MISSING)

    assert called.senders == [AsyncClientHandler]
    assert called.calls[0].kwargs["scope"]["path"] == MISSING


def test_async_receiver_under_wsgi(record, client):
    called = record(signals.request_started, is_async=True)

    client.get(MISSING)

    assert called.senders == [ClientHandler]
    assert called.calls[0].kwargs["environ"]["PATH_INFO"] == MISSING


@pytest.mark.parametrize("handler", ["wsgi", "asgi"])
def test_sync_and_async_receivers_are_both_called(record, handler):
    sync_receiver = record(signals.request_started)
    async_receiver = record(signals.request_started, is_async=True)

    if handler == "wsgi":
        Client().get(MISSING)
    else:
        async_to_sync(AsyncClient().get)(MISSING)

    assert len(sync_receiver.calls) == len(async_receiver.calls) == 1
    assert sync_receiver.calls[0].kwargs == async_receiver.calls[0].kwargs
