"""
signals_app.changes.transactions: what a save made in a transaction did,
once the transaction, or the savepoint it ran in, commits or rolls back.

These tests commit for real (``transaction=True``), so that on_commit
callbacks run as they do in production.
"""

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections, transaction

from signals_app.changes import Change, Changed, changes_of, track, transactions
from signals_app.signals import post_save
from testproject.shop.models import Article, GiftOrder
from tests.factories import ArticleFactory, GiftOrderFactory

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "other"])

track(Article)


class Rollback(Exception):
    pass


def loaded(article: Article, using: str = "default") -> Article:
    return Article.objects.using(using).get(pk=article.pk)


def assign_and_save(article: Article, **values: object) -> None:
    for name, value in values.items():
        setattr(article, name, value)
    article.save()


def rolled_back(work: Callable[[], object], **atomic: Any) -> None:
    """Run ``work`` in ``atomic(**atomic)``, which then rolls back."""
    with contextlib.suppress(Rollback), transaction.atomic(**atomic):
        work()
        raise Rollback


def test_a_save_from_an_earlier_on_commit_callback_does_not_report_the_change_again(
    listen,
):
    article = loaded(ArticleFactory(status="draft"))
    paid = listen(post_save, Article, Changed("status", to="published"))

    with transaction.atomic():
        transaction.on_commit(article.save)
        article.status = "published"
        article.save()

    assert len(paid.received()) == 1
    assert changes_of(article) == {}


def test_a_rolled_back_transaction_gives_back_the_first_baseline_of_many_saves():
    article = loaded(ArticleFactory(views=0))

    def save_many() -> None:
        for views in range(1, 51):
            assign_and_save(article, views=views)

    rolled_back(save_many)

    assert changes_of(article) == {"views": Change(0, 50)}


def test_changes_saved_in_a_rolled_back_savepoint_are_pending_inside_the_transaction():
    article = loaded(ArticleFactory(title="Old"))

    with transaction.atomic():
        rolled_back(lambda: assign_and_save(article, title="New"))

        assert changes_of(article) == {"title": Change("Old", "New")}


def test_a_savepoint_rollback_gives_back_only_what_was_saved_inside_it():
    article = loaded(ArticleFactory(views=0))

    def save_more() -> None:
        for views in range(2, 6):
            assign_and_save(article, views=views)

    with transaction.atomic():
        assign_and_save(article, views=1)
        rolled_back(save_more)

        assert changes_of(article) == {"views": Change(1, 5)}


def test_a_save_after_a_rolled_back_savepoint_reports_the_change_again(listen):
    article = loaded(ArticleFactory(title="Old"))
    heard = listen(post_save, Article, Changed("title"))

    with transaction.atomic():
        rolled_back(lambda: assign_and_save(article, title="New"))
        article.save()

    assert heard.values("changes") == [{"title": Change("Old", "New")}] * 2
    assert loaded(article).title == "New"


def test_a_released_savepoint_rolls_back_with_its_transaction():
    article = loaded(ArticleFactory(title="Old"))

    def save_in_a_savepoint() -> None:
        with transaction.atomic():
            assign_and_save(article, title="New")

    rolled_back(save_in_a_savepoint)

    assert changes_of(article) == {"title": Change("Old", "New")}


def test_an_inner_block_without_savepoint_rolls_back_with_the_outer_one():
    article = loaded(ArticleFactory(title="Old"))

    def save_without_savepoint() -> None:
        with transaction.atomic(savepoint=False):
            assign_and_save(article, title="New")

    rolled_back(save_without_savepoint)

    assert changes_of(article) == {"title": Change("Old", "New")}


def test_a_rollback_on_one_database_leaves_the_commit_on_another_alone():
    here = loaded(ArticleFactory(title="Old"))
    there = loaded(Article.objects.using("other").create(title="Old"), "other")

    with transaction.atomic(using="default"):
        assign_and_save(here, title="New")
        rolled_back(lambda: assign_and_save(there, title="New"), using="other")

    assert changes_of(here) == {}
    assert changes_of(there) == {"title": Change("Old", "New")}
    assert loaded(there, "other").title == "Old"


def test_saves_by_post_save_receivers_roll_back_with_the_save_that_set_them_off():
    article = loaded(ArticleFactory(views=0))

    def bump(instance: Article, **kwargs: object) -> None:
        if instance.views < 3:
            assign_and_save(instance, views=instance.views + 1)

    post_save.connect(bump, sender=Article, when=Changed("views"), weak=False)
    try:
        rolled_back(lambda: assign_and_save(article, views=1))
    finally:
        post_save.disconnect(bump, sender=Article)

    assert changes_of(article) == {"views": Change(0, 3)}


def test_a_child_model_rolled_back_gets_back_the_baseline_of_parent_and_child(listen):
    gift = GiftOrder.objects.get(pk=GiftOrderFactory(message="Hi").pk)
    heard = listen(post_save, GiftOrder, Changed("status", "message"))

    rolled_back(lambda: assign_and_save(gift, status="paid", message="Bye"))
    gift.save()

    expected = {"status": Change("new", "paid"), "message": Change("Hi", "Bye")}
    assert heard.values("changes") == [expected, expected]
    assert changes_of(gift) == {}


@pytest.mark.skipif(
    connection.vendor == "sqlite", reason="SQLite locks the table for a writer"
)
def test_a_rollback_in_one_thread_leaves_a_commit_in_another_alone():
    failing, passing = (loaded(ArticleFactory(title=title)) for title in "AB")
    both_saved = threading.Barrier(2, timeout=10)

    def save_in_a_transaction(article: Article, fail: bool) -> None:
        def work() -> None:
            assign_and_save(article, title=article.title + "2")
            both_saved.wait()
            if fail:
                raise Rollback

        try:
            with contextlib.suppress(Rollback), transaction.atomic():
                work()
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=save_in_a_transaction, args=(failing, True)),
        threading.Thread(target=save_in_a_transaction, args=(passing, False)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert changes_of(failing) == {"title": Change("A", "A2")}
    assert changes_of(passing) == {}


# --- connection(): the lookup every save that moves a baseline makes ---------------


def test_connection_is_connections_item_for_each_alias():
    for alias in ("default", "other"):
        assert transactions.connection(alias) is connections[alias]


def test_connection_is_the_other_thread_own_in_another_thread():
    found = {}

    def look_up() -> None:
        try:
            found["ours"] = transactions.connection("default")
            found["django"] = connections["default"]
        finally:
            connections.close_all()

    thread = threading.Thread(target=look_up)
    thread.start()
    thread.join()

    assert found["ours"] is found["django"]
    assert found["ours"] is not connections["default"]


def test_connection_follows_a_connection_put_in_place_of_the_thread_own():
    found = {}

    def look_up() -> None:
        transactions.connection("default")
        connections["default"] = connections.create_connection("default")
        try:
            found["ours"] = transactions.connection("default")
            found["django"] = connections["default"]
        finally:
            connections.close_all()

    thread = threading.Thread(target=look_up)
    thread.start()
    thread.join()

    assert found["ours"] is found["django"]


def test_connection_under_a_running_event_loop_is_the_context_own():
    async def look_up() -> tuple[Any, Any]:
        return transactions.connection("default"), connections["default"]

    ours, django = asyncio.run(look_up())

    assert ours is django
    assert ours is not connections["default"]


def test_an_async_save_on_another_database_after_a_rollback_reports_it_again(
    listen,
):
    article = loaded(Article.objects.using("other").create(title="Old"), "other")
    heard = listen(post_save, Article, Changed("title"))

    rolled_back(lambda: assign_and_save(article, title="New"), using="other")
    asyncio.run(article.asave(using="other"))
    article.save(using="other")

    assert heard.values("changes") == [{"title": Change("Old", "New")}] * 2
    assert loaded(article, "other").title == "New"
