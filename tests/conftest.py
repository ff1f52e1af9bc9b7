"""Shared pytest configuration and fixtures."""

from django.conf import settings


def pytest_report_header() -> list[str]:
    # Says which backend this run uses: ./scripts/test runs the suite twice.
    lines = []
    for alias, db in settings.DATABASES.items():
        vendor = db["ENGINE"].rsplit(".", 1)[-1]
        where = f" at {db['HOST']}:{db['PORT']}" if db.get("HOST") else ""
        lines.append(f"database {alias}: {vendor}{where}")
    return lines
