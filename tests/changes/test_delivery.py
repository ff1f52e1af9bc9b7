"""
Changes delivered later: frozen when the signal is sent, and carried along.

Real transactions (``transactional_db``); tasks run in the real
django-tasks-db worker, in this process.
"""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.db import transaction

from signals_app.changes import (
    DATABASE,
    UNKNOWN,
    Change,
    Changed,
    Changes,
    changes_of,
    track,
)
from signals_app.delivery import decoding, encoding, payload
from signals_app.signals import post_save
from testproject.shop.models import Article, Parcel
from tests.delivery.worker import run_worker
from tests.factories import ArticleFactory, ParcelFactory

pytestmark = pytest.mark.django_db(transaction=True)

track(Article)


def test_changes_delivered_on_commit_are_those_of_each_save(listen):
    article = Article.objects.get(pk=ArticleFactory(data={"n": 1}).pk)
    heard = listen(post_save, Article, Changed("data"), delivery="on_commit")

    with transaction.atomic():
        article.data["n"] = 2
        article.save()
        article.data["n"] = 3
        article.save()
        assert heard.received() == []

    assert [call["changes"] for call in heard.received()] == [
        {"data": Change({"n": 1}, {"n": 2})},
        {"data": Change({"n": 2}, {"n": 3})},
    ]


def test_changes_delivered_by_a_task_keep_their_types(listen):
    parcel = Parcel.objects.get(pk=ParcelFactory().pk)
    heard = listen(
        post_save,
        Parcel,
        Changed("weight", "shipped_on", "in_transit", "tracking"),
        delivery="task",
        dispatch_uid="changes.parcel",
    )
    tracking = uuid.uuid4()

    parcel.weight = Decimal("2.500")
    parcel.shipped_on = datetime.date(2024, 5, 6)
    parcel.in_transit = datetime.timedelta(hours=5)
    parcel.tracking = tracking
    parcel.save()
    run_worker()

    [call] = heard.received()
    assert isinstance(call["changes"], Changes)
    assert call["changes"] == {
        "weight": Change(Decimal("1.250"), Decimal("2.500")),
        "shipped_on": Change(None, datetime.date(2024, 5, 6)),
        "in_transit": Change(None, datetime.timedelta(hours=5)),
        "tracking": Change(None, tracking),
    }


def test_the_markers_and_foreign_key_names_survive_the_payload():
    changes = Changes(
        {"author": Change(UNKNOWN, 3), "views": Change(1, DATABASE)},
        {"author_id": "author"},
    )

    data = encoding.encode("r", None, {"changes": changes}, deleting=False)
    _, kwargs = decoding.decode(decoding.receiver_of(data) and data)

    assert kwargs["changes"] == changes
    assert kwargs["changes"]["views"].new is DATABASE
    assert kwargs["changes"]["author_id"].old is UNKNOWN


def test_register_type_refuses_a_tag_the_payload_uses_itself():
    with pytest.raises(ValueError, match="uses the tag 'decimal' itself"):
        payload.register_type(object, "decimal", str, str)


def test_register_type_refuses_a_tag_of_another_class():
    with pytest.raises(ValueError, match="'changes' is registered"):
        payload.register_type(dict, "changes", str, str)


class Rollback(Exception):
    pass


def save_and_roll_back(article: Article) -> None:
    with transaction.atomic():
        article.save()
        raise Rollback


def test_a_transaction_rolled_back_leaves_its_saved_changes_pending():
    article = Article.objects.get(pk=ArticleFactory(title="Old").pk)
    article.title = "New"

    with pytest.raises(Rollback):
        save_and_roll_back(article)

    assert changes_of(article) == {"title": Change("Old", "New")}


def test_a_transaction_committed_keeps_the_new_baseline():
    article = Article.objects.get(pk=ArticleFactory(title="Old").pk)
    article.title = "New"

    with transaction.atomic():
        article.save()

    assert changes_of(article) == {}
    assert not article.__dict__["_signals_app_changes"].unconfirmed
