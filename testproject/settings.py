"""Settings of the example project, also the test settings.

SQLite by default; PostgreSQL when SIGNALS_APP_TEST_POSTGRES holds a URL of the
form postgresql://user:password@host:port/dbname.
"""

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

# For development and tests only; never deploy these settings.
SECRET_KEY = "signals-app-example-project-not-secret"
DEBUG = os.environ.get("SIGNALS_APP_DEBUG") == "1"
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]", "testserver"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "signals_app",
    # The task backend of receivers connected with delivery="task": a table in
    # the project's database, run by "manage.py db_worker".
    "django_tasks_db",
    "testproject.shop",
    "testproject.audit",
    # The receivers `manage.py demo` (./scripts/demo) shows at work.
    "testproject.demo",
]

MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]

ROOT_URLCONF = "testproject.urls"
WSGI_APPLICATION = "testproject.wsgi.application"
ASGI_APPLICATION = "testproject.asgi.application"


def _postgres(url: str, name_suffix: str = "") -> dict[str, object]:
    """A DATABASES entry for a postgresql:// URL, without an extra dependency."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise ImproperlyConfigured(
            "SIGNALS_APP_TEST_POSTGRES must look like "
            f"postgresql://user:password@host:port/dbname, not {url!r}"
        )
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")) + name_suffix,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
    }


_POSTGRES_URL = os.environ.get("SIGNALS_APP_TEST_POSTGRES")
if _POSTGRES_URL:
    # "other" is a second database on the same server, for multi-db tests.
    DATABASES = {
        "default": _postgres(_POSTGRES_URL),
        "other": _postgres(_POSTGRES_URL, name_suffix="_other"),
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": BASE_DIR / "db.sqlite3",
        },
        "other": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": BASE_DIR / "other.sqlite3",
        },
    }

# Django's Tasks API (django.tasks on Django 6, the django-tasks backport on
# 5.2). Tasks are stored in the default database, in the same transaction as
# the data they are about.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
