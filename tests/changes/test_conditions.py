"""signals_app.changes.conditions: receivers called only for the changes they name."""

import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from signals_app.changes import (
    UNKNOWN,
    Change,
    ChangeCondition,
    Changed,
    Changes,
    Created,
    Updated,
    WithChanges,
)
from signals_app.signals import m2m_changed, post_save, pre_save
from testproject.shop.models import Article
from tests.factories import ArticleFactory

pytestmark = pytest.mark.django_db


def loaded(article: Article) -> Article:
    return Article.objects.get(pk=article.pk)


def publish(article: Article) -> Article:
    article.status = Article.Status.PUBLISHED
    article.save()
    return article


def test_changed_to_holds_only_when_the_field_takes_that_value(listen):
    draft, other = ArticleFactory(), ArticleFactory()
    heard = listen(post_save, Article, Changed("status", to="published"))

    publish(loaded(draft))
    other.title = "Retitled"
    other.save()

    [call] = heard.received()
    assert call["changes"] == {"status": Change("draft", "published")}
    assert isinstance(call["changes"], Changes)


def test_changed_from_holds_only_for_that_old_value(listen):
    article = loaded(ArticleFactory(status="published"))
    heard = listen(post_save, Article, Changed("status", from_="draft"))

    article.status = "draft"
    article.save()
    article.status = "published"
    article.save()

    assert [call["changes"]["status"] for call in heard.received()] == [
        Change("draft", "published")
    ]


def test_changed_with_several_fields_holds_when_any_of_them_changed(listen):
    article = loaded(ArticleFactory())
    heard = listen(post_save, Article, Changed("title", "body"))

    article.views = 5
    article.save()
    article.body = "New body"
    article.save()

    [call] = heard.received()
    assert call["changes"] == {"body": Change("Some text.", "New body")}


def test_changed_with_no_field_holds_for_a_change_of_any_field(listen):
    article = loaded(ArticleFactory())
    heard = listen(post_save, Article, Changed())

    article.save()
    article.views = 1
    article.save()

    got = [dict(call["changes"]) for call in heard.received()]
    assert got == [{"views": Change(0, 1)}]


def test_with_changes_always_holds_and_hands_over_the_changes(listen):
    article = loaded(ArticleFactory())
    heard = listen(post_save, Article, WithChanges())

    article.save()

    assert [call["changes"] for call in heard.received()] == [{}]


def test_changed_given_to_after_it_was_made_holds_only_for_that_value(listen):
    condition = Changed("status")
    condition.to = "archived"
    heard = listen(post_save, Article, condition)

    publish(loaded(ArticleFactory()))

    assert heard.received() == []


def test_created_and_updated_tell_inserts_from_updates(listen):
    created = listen(post_save, Article, Created())
    updated = listen(post_save, Article, Updated())
    before_insert = listen(pre_save, Article, Created())

    article = ArticleFactory()
    article.save()

    assert [call["instance"] for call in created.received()] == [article]
    assert [call["created"] for call in updated.received()] == [False]
    assert len(before_insert.calls) == 1
    assert created.received()[0]["changes"] == {}


def test_a_created_instance_changed_every_field_from_unknown(listen):
    heard = listen(post_save, Article, Changed("status", to="draft"))

    ArticleFactory()

    [call] = heard.received()
    assert call["changes"] == {"status": Change(UNKNOWN, "draft")}


def test_pre_save_receivers_see_what_is_about_to_be_written(listen):
    article = loaded(ArticleFactory(price=Decimal("1.00")))
    heard = listen(pre_save, Article, Changed("price"))

    article.price = Decimal("2.00")
    article.save()

    [call] = heard.received()
    assert call["changes"] == {"price": Change(Decimal("1.00"), Decimal("2.00"))}


def test_conditions_compose_and_the_receiver_gets_the_fields_of_all(listen):
    article = loaded(ArticleFactory())
    both = listen(post_save, Article, Changed("title") & Changed("body"))
    either = listen(post_save, Article, Changed("title") | Changed("body"))
    updated_not_title = listen(post_save, Article, Updated() & ~Changed("title"))

    article.title = "T2"
    article.save()
    article.title = "T3"
    article.body = "B2"
    article.save()
    article.views = 9
    article.save()

    assert [set(call["changes"]) for call in both.received()] == [{"title", "body"}]
    assert [set(call["changes"]) for call in either.received()] == [
        {"title"},
        {"title", "body"},
    ]
    assert [call["changes"] for call in updated_not_title.received()] == [{}]


class _ViewedOften(ChangeCondition):
    # A condition of someone else's: it answers in holds(), the documented
    # place, and names the field it needs watched.
    fields = ("views",)

    def holds(self, sender, named, found):
        return "views" in found and found["views"].new >= 100


def test_a_subclass_of_change_condition_decides_in_holds(listen):
    article = loaded(ArticleFactory())
    heard = listen(post_save, Article, _ViewedOften())

    article.views = 5
    article.save()
    article.views = 150
    article.save()

    assert [call["changes"] for call in heard.received()] == [{"views": Change(5, 150)}]


class _ChangedALot(Changed):
    # A subclass of one of ours, narrowing it in holds(), the documented
    # place: a change of views counts only past 100.
    def holds(self, sender, named, found):
        return super().holds(sender, named, found) and found["views"].new >= 100


def test_a_subclass_of_changed_that_overrides_holds_is_asked_there(listen):
    article = loaded(ArticleFactory())
    heard = listen(post_save, Article, _ChangedALot("views"))

    article.views = 5
    article.save()
    article.views = 150
    article.save()

    assert [call["changes"] for call in heard.received()] == [{"views": Change(5, 150)}]


class _Archived(Changed):
    # A subclass of one of ours that names its value as a class attribute.
    to = "archived"


def test_a_subclass_of_changed_with_to_as_a_class_attribute_holds_for_it(listen):
    heard = listen(post_save, Article, _Archived("status"))

    publish(loaded(ArticleFactory()))

    assert heard.received() == []


class _ReportsTitleOnly(Changed):
    # A subclass of one of ours that narrows what its receiver is told in
    # attnames(), the documented place.
    def attnames(self, sender):
        return frozenset({"title"})


def test_a_subclass_of_changed_that_overrides_attnames_reports_only_those(listen):
    article = loaded(ArticleFactory(title="Old"))
    heard = listen(post_save, Article, _ReportsTitleOnly("title", "views"))

    article.title = "New"
    article.views = 7
    article.save()

    assert [call["changes"] for call in heard.received()] == [
        {"title": Change("Old", "New")}
    ]


def test_conditions_say_what_they_are():
    condition = (Changed("status", to="published") | Created()) & ~Changed("title")

    assert (
        repr(Changed("status", to="published")) == "Changed('status', to='published')"
    )
    assert repr(Changed("a", "b", from_=1)) == "Changed('a', 'b', from_=1)"
    assert repr(condition) == (
        "((Changed('status', to='published') | Created()) & ~Changed('title'))"
    )


def test_changed_keeps_what_it_was_given_as_attributes():
    condition = Changed("status", "title", from_="draft", to="published")

    assert condition.fields == ("status", "title")
    assert (condition.from_, condition.to) == ("draft", "published")


def test_a_lazy_sender_is_watched_once_it_resolves(listen):
    article = loaded(ArticleFactory())
    heard = listen(post_save, "shop.Article", Changed("views"))

    article.views = 2
    article.save()

    assert heard.received()[0]["changes"] == {"views": Change(0, 2)}


def test_a_change_condition_needs_a_model_sender():
    with pytest.raises(ValueError, match="needs a model sender"):
        post_save.connect(lambda **kw: None, weak=False, when=Changed("status"))

    assert not post_save.has_listeners()


def test_a_change_condition_is_only_for_pre_and_post_save():
    with pytest.raises(ValueError, match="condition of pre_save and post_save"):
        m2m_changed.connect(
            lambda **kw: None, sender=Article, weak=False, when=Changed("status")
        )


def test_an_unknown_field_is_refused_at_connect():
    with pytest.raises(ValueError, match="no field 'nope' to watch"):
        post_save.connect(
            lambda **kw: None, sender=Article, weak=False, when=Changed("nope")
        )


def test_raw_saves_of_loaddata_never_meet_change_conditions(listen, tmp_path):
    heard = listen(post_save, Article, Changed() | Created())
    plain = listen(post_save, Article, None)
    fixture = tmp_path / "articles.json"
    fields = {"title": "Fixture", "status": "published", "data": {}}
    fixture.write_text(
        json.dumps([{"model": "shop.article", "pk": 1, "fields": fields}])
    )

    call_command("loaddata", str(fixture), verbosity=0)

    assert [call["raw"] for call in plain.received()] == [True]
    assert heard.received() == []
