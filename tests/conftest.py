"""Shared pytest configuration and fixtures."""

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections

from tests.recorder import lazy_connections_dropped, receivers_cleaned_up


def pytest_report_header() -> list[str]:
    # Says which backend this run uses: ./scripts/test runs the suite twice.
    lines = []
    for alias, db in settings.DATABASES.items():
        vendor = db["ENGINE"].rsplit(".", 1)[-1]
        where = f" at {db['HOST']}:{db['PORT']}" if db.get("HOST") else ""
        lines.append(f"database {alias}: {vendor}{where}")
    return lines


@pytest.fixture
def signals_left_clean() -> Iterator[None]:
    """Fail a test that leaves receivers or waiting lazy connections behind."""
    with receivers_cleaned_up(), lazy_connections_dropped():
        yield


@pytest.fixture
def connect(request: pytest.FixtureRequest) -> Callable[..., None]:
    """``connect(signal, receiver, **kwargs)``; disconnected again after the test."""

    def connect(signal: Any, receiver: Any, **kwargs: Any) -> None:
        signal.connect(receiver, **kwargs)
        request.addfinalizer(
            lambda: signal.disconnect(
                receiver,
                sender=kwargs.get("sender"),
                dispatch_uid=kwargs.get("dispatch_uid"),
            )
        )

    return connect


@pytest.fixture
def async_connections_closed() -> Iterator[None]:
    """
    Close, after the test, the connections that async code opened: those of
    the thread where asgiref runs thread-sensitive work for an event loop
    with no sync caller (``asyncio.run()``). That thread outlives the test,
    and PostgreSQL refuses to drop a test database someone is connected to.
    """
    yield
    asyncio.run(sync_to_async(connections.close_all)())
