"""
signals_app.changes.tracking: what changed since load, save or refresh.

Each behaviour where the peers go wrong has a test here; they run on SQLite
and, with SIGNALS_APP_TEST_POSTGRES, on PostgreSQL.
"""

import copy
import datetime
import pickle
from decimal import Decimal
from typing import Any

import django
import pytest
from asgiref.sync import async_to_sync
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from signals_app.changes import (
    DATABASE,
    UNKNOWN,
    Change,
    Changed,
    WithChanges,
    changes_of,
    track,
    tracked_fields,
)
from signals_app.changes.testing import assert_changes
from signals_app.signals import post_save, pre_save
from testproject.shop.models import Article, GiftOrder, Order, PriorityOrder, Tag
from tests.changes.models import Decoded, Document, Items
from tests.factories import ArticleFactory, CustomerFactory, GiftOrderFactory

pytestmark = pytest.mark.django_db

track(Article)


def loaded(article: Article) -> Article:
    return Article.objects.get(pk=article.pk)


def test_a_loaded_instance_has_no_changes():
    article = loaded(ArticleFactory())

    assert changes_of(article) == {}


def test_an_assigned_field_reports_its_old_and_new_value():
    article = loaded(ArticleFactory(title="Old"))

    article.title = "New"

    assert changes_of(article) == {"title": Change("Old", "New")}


def test_assigning_the_same_value_is_no_change():
    article = loaded(ArticleFactory(title="Same"))

    article.title = "Same"

    assert changes_of(article) == {}


def test_assigning_back_the_old_value_undoes_the_change():
    article = loaded(ArticleFactory(title="Old"))

    article.title = "New"
    article.title = "Old"

    assert changes_of(article) == {}


def test_nothing_is_kept_at_load_only_on_write():
    article = loaded(ArticleFactory())

    assert "_signals_app_changes" not in article.__dict__
    article.views = 3
    assert article.__dict__["_signals_app_changes"].old == {"views": 0}


@pytest.mark.parametrize(
    "edit",
    [
        lambda data: data["meta"].update(lang="fr"),
        lambda data: data["tags"].append("b"),
        lambda data: data.pop("tags"),
    ],
    ids=["nested-dict", "list", "key-removed"],
)
def test_in_place_edits_of_a_json_document_are_seen(edit):
    article = loaded(ArticleFactory(data={"tags": ["a"], "meta": {"lang": "en"}}))

    edit(article.data)

    [(name, change)] = changes_of(article).items()
    assert name == "data"
    assert change.old == {"tags": ["a"], "meta": {"lang": "en"}}
    assert change.new == article.data


@pytest.mark.parametrize(
    ("data", "edit"),
    [
        ({"meta": {"lang": "en"}}, lambda data: data["meta"].update(lang="fr")),
        (["a"], lambda data: data.append("b")),
    ],
    ids=["dict-subclass", "list-subclass"],
)
def test_in_place_edits_of_a_json_document_decoded_as_a_subclass_are_seen(data, edit):
    track(Decoded)
    row = Decoded.objects.get(pk=Decoded.objects.create(data=data).pk)
    assert type(row.data) in (Document, Items)

    edit(row.data)

    [(name, change)] = changes_of(row).items()
    assert (name, change.old, change.new) == ("data", data, row.data)


def test_in_place_edits_after_a_save_are_seen_through_a_value_kept_from_before():
    article = loaded(ArticleFactory(data={"n": 1}))
    data = article.data
    data["n"] = 2
    article.save()

    data["n"] = 3

    assert changes_of(article) == {"data": Change({"n": 2}, {"n": 3})}


def test_a_foreign_key_is_tracked_by_its_id_without_a_query():
    first, second = CustomerFactory(), CustomerFactory()
    article = loaded(ArticleFactory(author=first))

    with CaptureQueriesContext(connection) as queries:
        article.author = second
        changes = changes_of(article)

    assert queries.captured_queries == []
    assert changes == {"author": Change(first.pk, second.pk)}
    assert changes["author_id"] == Change(first.pk, second.pk)


def test_assigning_a_foreign_key_id_still_clears_the_cached_object():
    first, second = CustomerFactory(), CustomerFactory()
    article = Article.objects.select_related("author").get(
        pk=ArticleFactory(author=first).pk
    )

    article.author_id = second.pk

    assert article.author == second


def test_a_deferred_field_assigned_without_loading_has_an_unknown_old_value():
    article = Article.objects.defer("body").get(pk=ArticleFactory(body="Long").pk)

    with CaptureQueriesContext(connection) as queries:
        article.body = "Short"
        changes = changes_of(article)

    assert queries.captured_queries == []
    assert changes == {"body": Change(UNKNOWN, "Short")}


def test_loading_a_deferred_field_is_not_a_change():
    article = Article.objects.defer("body").get(pk=ArticleFactory(body="Long").pk)

    assert article.body == "Long"

    assert changes_of(article) == {}


@pytest.mark.skipif(django.VERSION < (6, 1), reason="fetch modes came in Django 6.1")
@pytest.mark.parametrize("mode", ["FETCH_PEERS", "FETCH_RAISE"])
def test_a_deferred_field_assigned_under_a_fetch_mode_needs_no_fetch(mode):
    from django.db import models

    ArticleFactory.create_batch(2, body="Long")
    fetch_mode = getattr(models, mode)
    first, peer = Article.objects.defer("body").fetch_mode(fetch_mode).order_by("pk")

    with CaptureQueriesContext(connection) as queries:
        first.body = "Short"

    assert queries.captured_queries == []
    assert changes_of(first) == {"body": Change(UNKNOWN, "Short")}
    if mode == "FETCH_PEERS":
        assert peer.body == "Long"  # fetched for every peer still lacking it
        assert changes_of(peer) == {}


def test_refresh_from_db_resets_the_baseline():
    article = loaded(ArticleFactory(title="Stored"))
    article.title = "Unsaved"

    article.refresh_from_db()

    assert article.title == "Stored"
    assert changes_of(article) == {}


def test_refresh_of_some_fields_resets_only_theirs():
    article = loaded(ArticleFactory(title="Stored", views=1))
    article.title = "Unsaved"
    article.views = 2

    article.refresh_from_db(fields=["views"])

    assert changes_of(article) == {"title": Change("Stored", "Unsaved")}


def test_a_save_resets_the_baseline():
    article = loaded(ArticleFactory(title="Old"))
    article.title = "New"

    article.save()

    assert changes_of(article) == {}


def test_an_expression_is_reported_as_computed_by_the_database():
    article = loaded(ArticleFactory(views=1))

    article.views = F("views") + 1

    assert changes_of(article) == {"views": Change(1, DATABASE)}


def test_post_save_reports_what_django_read_back_or_database(listen):
    article = loaded(ArticleFactory(views=1))
    saved = listen(post_save, Article, WithChanges())

    article.views = F("views") + 1
    article.save()

    [call] = saved.received()
    # Django reads expressions back after save() from 6.0 where the
    # database returns them; before, the value is the database's to know.
    refreshed = not hasattr(article.views, "resolve_expression")
    expected = 2 if refreshed else DATABASE
    assert call["changes"] == {"views": Change(1, expected)}
    article.refresh_from_db()
    assert article.views == 2
    assert changes_of(article) == {}


def test_update_fields_reports_and_consumes_only_those(listen):
    article = loaded(ArticleFactory(title="Old", views=1))
    before = listen(pre_save, Article, WithChanges())
    after = listen(post_save, Article, WithChanges())
    article.title = "New"
    article.views = 2

    article.save(update_fields=["views"])

    assert before.received()[0]["changes"] == {"views": Change(1, 2)}
    assert after.received()[0]["changes"] == {"views": Change(1, 2)}
    assert changes_of(article) == {"title": Change("Old", "New")}


class Rollback(Exception):
    pass


def save_and_roll_back(article: Article) -> None:
    with transaction.atomic():
        article.save()
        assert changes_of(article) == {}
        raise Rollback


def test_changes_saved_in_a_rolled_back_transaction_stay_pending():
    article = loaded(ArticleFactory(title="Old"))
    article.title = "New"

    with pytest.raises(Rollback):
        save_and_roll_back(article)

    assert loaded(article).title == "Old"
    assert changes_of(article) == {"title": Change("Old", "New")}


def test_changes_saved_in_a_committed_savepoint_are_not_pending():
    article = loaded(ArticleFactory(title="Old"))
    article.title = "New"

    with transaction.atomic():
        article.save()

    assert changes_of(article) == {}


def test_a_save_that_fails_keeps_the_changes_pending():
    article = loaded(ArticleFactory(title="Old"))
    other = ArticleFactory()
    article.title = "New"
    article.id = other.id  # a forced INSERT of a key that exists fails

    with pytest.raises(IntegrityError), transaction.atomic():
        article.save(force_insert=True)

    assert changes_of(article) == {"title": Change("Old", "New")}


def test_a_save_inside_post_save_does_not_deliver_the_same_changes_again(listen):
    heard = []

    def resave(instance, changes, **kwargs):
        heard.append(dict(changes))
        if instance.views < 3:
            instance.views += 1
            instance.save()

    article = loaded(ArticleFactory(views=0))
    post_save.connect(resave, sender=Article, when=Changed("views"), weak=False)
    try:
        article.views = 1
        article.save()
    finally:
        post_save.disconnect(resave, sender=Article)

    assert heard == [
        {"views": Change(0, 1)},
        {"views": Change(1, 2)},
        {"views": Change(2, 3)},
    ]
    assert changes_of(article) == {}


def test_an_instance_being_created_reports_every_watched_field_from_unknown():
    article = Article(title="Fresh")

    changes = changes_of(article)

    assert changes["title"] == Change(UNKNOWN, "Fresh")
    assert set(changes) == {f.name for f in Article._meta.concrete_fields[1:]}


def test_dates_decimals_and_choices_compare_by_value():
    article = loaded(ArticleFactory(price=Decimal("4.50"), status="draft"))

    article.price = Decimal("4.5")
    article.status = Article.Status.DRAFT
    article.published_on = None

    assert changes_of(article) == {}
    article.published_on = datetime.date(2024, 1, 2)
    assert changes_of(article) == {
        "published_on": Change(None, datetime.date(2024, 1, 2))
    }


def test_assert_changes_passes_and_fails_as_it_says():
    article = loaded(ArticleFactory(title="Old"))
    article.title = "New"

    assert_changes(article, {"title": ("Old", "New")})
    assert_changes(article, ["title"])
    with pytest.raises(AssertionError, match="expected changes"):
        assert_changes(article, {})


# --- what is watched, and what is not ------------------------------------------------


def test_a_model_nobody_watches_is_left_as_django_made_it():
    for field in Tag._meta.concrete_fields:
        assert type(Tag.__dict__[field.attname]).__module__.startswith("django.")
    assert "save_base" not in Tag.__dict__
    assert tracked_fields(Tag) == frozenset()
    with pytest.raises(ValueError, match=r"Nothing watches shop\.Tag"):
        changes_of(Tag(name="x"))


def test_only_the_fields_a_condition_names_are_watched(listen):
    class WatchedTag(Tag):
        class Meta:
            proxy = True
            app_label = "shop"

    listen(post_save, WatchedTag, Changed("name"))

    assert tracked_fields(WatchedTag) == {"name"}
    assert tracked_fields(Tag) == frozenset()


def test_a_save_base_of_the_model_own_is_called_as_django_calls_it(listen):
    # Its parameters are keyword-only: called by position, it would fail.
    class KeywordTag(Tag):
        class Meta:
            proxy = True
            app_label = "shop"

        def save_base(self, *, update_fields: Any = None, **kwargs: Any) -> None:
            self.saved_fields = update_fields
            super().save_base(update_fields=update_fields, **kwargs)

    heard = listen(post_save, KeywordTag, Changed("name"))
    tag = KeywordTag.objects.create(name="old")
    tag.name = "new"

    tag.save(update_fields=["name"])

    assert tag.saved_fields == {"name"}
    assert heard.values("changes")[-1] == {"name": Change("old", "new")}


def test_a_save_base_of_the_model_own_keeps_its_own_defaults(listen):
    # Django's parameter names, but not its defaults: Django's save() does
    # not pass ``raw``, so the model's default is the one that must count.
    class DefaultTag(Tag):
        class Meta:
            proxy = True
            app_label = "shop"

        def save_base(
            self,
            raw: bool = True,
            force_insert: Any = False,
            force_update: bool = False,
            using: Any = None,
            update_fields: Any = None,
        ) -> None:
            self.raw_given = raw
            super().save_base(False, force_insert, force_update, using, update_fields)

    listen(post_save, DefaultTag, Changed("name"))
    tag = DefaultTag(name="new")

    tag.save()

    assert tag.raw_given is True


def test_many_to_many_fields_cannot_be_watched():
    with pytest.raises(ValueError, match="m2m_changed"):
        track(Order, ["tags"])


def test_a_misspelt_field_is_refused_with_the_closest_name():
    with pytest.raises(ValueError, match=r"Did you mean 'status'\?$"):
        track(Order, ["stauts"])


def test_a_misspelt_field_is_refused_with_the_models_fields():
    with pytest.raises(ValueError, match="stauts") as caught:
        track(Order, ["stauts"])

    fields = ", ".join(f.name for f in Order._meta.concrete_fields)
    assert f"shop.Order has no field 'stauts' to watch; its fields are {fields}." in (
        str(caught.value)
    )


def test_a_misspelt_field_is_not_said_to_be_many_to_many():
    with pytest.raises(ValueError, match="stauts") as caught:
        track(Order, ["stauts"])

    assert "m2m_changed" not in str(caught.value)


# --- proxies and multi-table inheritance --------------------------------------------


def test_a_proxy_is_watched_on_its_own(listen):
    order = PriorityOrder.objects.get(pk=GiftOrderFactory().pk)
    heard = listen(post_save, PriorityOrder, Changed("status"))

    order.status = Order.Status.PAID
    order.save()

    assert heard.received()[0]["changes"] == {"status": Change("new", "paid")}
    assert heard.received()[0]["sender"] is PriorityOrder


def test_a_child_model_reports_changes_of_its_parent_fields_too(listen):
    gift = GiftOrder.objects.get(pk=GiftOrderFactory(message="Hi").pk)
    heard = listen(post_save, GiftOrder, Changed("status", "message"))

    gift.status = Order.Status.SHIPPED
    gift.message = "Bye"
    gift.save()

    assert heard.received()[0]["changes"] == {
        "status": Change("new", "shipped"),
        "message": Change("Hi", "Bye"),
    }


def test_a_child_model_names_its_own_fields_after_its_parent_reported(listen):
    # The names of a model's fields are kept on the model class, where the
    # child would also find its parent's: each must get its own.
    order = Order.objects.get(pk=GiftOrderFactory().pk)
    gift = GiftOrder.objects.get(pk=GiftOrderFactory(message="Hi").pk)
    listen(post_save, Order, WithChanges())
    heard = listen(post_save, GiftOrder, Changed("message"))

    order.status = Order.Status.PAID
    order.save()
    gift.message = "Bye"
    gift.save()

    assert heard.received()[0]["changes"] == {"message": Change("Hi", "Bye")}


def test_a_copy_of_an_instance_has_its_own_changes():
    article = loaded(ArticleFactory(title="Old"))
    article.title = "New"

    twin = copy.copy(article)
    twin.views = 7

    assert changes_of(twin) == {"title": Change("Old", "New"), "views": Change(0, 7)}
    assert changes_of(article) == {"title": Change("Old", "New")}


def test_a_pickled_instance_keeps_its_pending_changes():
    article = loaded(ArticleFactory(title="Old"))
    article.title = "New"

    revived = pickle.loads(pickle.dumps(article))

    assert changes_of(revived) == {"title": Change("Old", "New")}


def test_refreshing_a_prefetched_relation_by_name_is_left_to_django(listen):
    listen(post_save, Order, Changed("status"))
    order = Order.objects.prefetch_related("tags").get(pk=GiftOrderFactory().pk)
    order.status = Order.Status.PAID

    order.refresh_from_db(fields=["tags"])

    assert "tags" not in order._prefetched_objects_cache
    assert changes_of(order) == {"status": Change("new", "paid")}


def test_asave_reports_a_change_once(listen):
    article = loaded(ArticleFactory(title="Old"))
    heard = listen(post_save, Article, Changed("title"))
    article.title = "New"

    async def save_twice() -> None:
        await article.asave()
        await article.asave()

    async_to_sync(save_twice)()

    assert heard.values("changes") == [{"title": Change("Old", "New")}]
