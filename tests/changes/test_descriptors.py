"""
signals_app.changes.descriptors: a watched field behaves as the same field
unwatched, and only adds the old value kept on write.
"""

import copy
import datetime
import io
import pickle
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.images import ImageFile
from django.db import transaction
from django.db.models.fields.files import FieldFile, FileDescriptor, ImageFieldFile
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from signals_app.changes import Change, Changed, changes_of, track
from signals_app.signals import post_save
from tests.changes.models import Unwatched, Watched

pytestmark = pytest.mark.django_db

track(Watched)


def loaded(instance: Watched) -> Watched:
    return type(instance).objects.get(pk=instance.pk)


def png(width: int, height: int, name: str) -> ImageFile:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height)).save(buffer, "PNG")
    return ImageFile(buffer, name=name)


def with_document(model: type = Watched) -> Watched:
    instance = model()
    instance.document = ContentFile(b"first", name="first.txt")
    instance.save()
    return loaded(instance)


def test_class_access_gives_the_descriptor_django_made():
    assert isinstance(Watched.document, FileDescriptor)
    assert Watched.document.field is Watched._meta.get_field("document")


def test_a_watched_file_field_reads_as_a_field_file():
    instance = with_document()

    assert isinstance(instance.document, FieldFile)
    assert instance.document.read() == b"first"


def test_a_file_assigned_to_a_watched_field_is_saved_to_storage():
    instance = with_document()

    instance.document = ContentFile(b"second", name="second.txt")
    instance.save()

    assert loaded(instance).document.read() == b"second"


def test_a_file_replaced_reports_the_name_it_had():
    instance = with_document()
    first = instance.document.name

    instance.document = ContentFile(b"second", name="second.txt")

    assert changes_of(instance) == {"document": Change(first, "second.txt")}


def test_a_file_saved_through_its_field_file_reports_the_name_replaced(listen):
    instance = with_document()
    first = instance.document.name
    heard = listen(post_save, Watched, Changed("document"))

    instance.document.save("second.txt", ContentFile(b"second"))

    [changes] = heard.values("changes")
    assert changes == {"document": Change(first, instance.document.name)}
    assert instance.document.name != first


def test_an_image_assigned_to_a_watched_field_updates_its_dimension_fields():
    instance = Watched()
    instance.picture = png(3, 2, "small.png")
    instance.save()
    instance = loaded(instance)

    instance.picture = png(5, 4, "large.png")

    assert isinstance(instance.picture, ImageFieldFile)
    assert (instance.picture_width, instance.picture_height) == (5, 4)
    assert changes_of(instance)["picture_width"] == Change(3, 5)


def test_a_field_with_a_descriptor_class_of_its_own_keeps_it():
    instance = loaded(Watched.objects.create(lowered="abc"))

    instance.lowered = "XYZ"

    assert instance.lowered == "xyz"
    assert changes_of(instance) == {"lowered": Change("abc", "xyz")}


def test_deleting_a_watched_field_has_it_load_again_without_a_change():
    instance = loaded(Watched.objects.create(count=1))
    instance.count = 2

    del instance.count

    assert changes_of(instance) == {}
    assert instance.count == 1


def test_deleting_a_field_not_loaded_raises_as_it_does_unwatched():
    watched = Watched.objects.defer("count").get(pk=Watched.objects.create().pk)
    unwatched = Unwatched.objects.defer("count").get(pk=Unwatched.objects.create().pk)

    with pytest.raises(AttributeError) as unwatched_error:
        del unwatched.count
    with pytest.raises(AttributeError) as watched_error:
        del watched.count

    assert str(watched_error.value) == str(unwatched_error.value).replace(
        "Unwatched", "Watched"
    )


@pytest.mark.parametrize("name", ["lowered", "document", "parent_id"])
def test_deleting_through_a_descriptor_that_cannot_delete_raises_as_unwatched(name):
    watched, unwatched = Watched.objects.create(), Unwatched.objects.create()

    with pytest.raises(AttributeError) as unwatched_error:
        delattr(unwatched, name)
    with pytest.raises(AttributeError) as watched_error:
        delattr(watched, name)

    assert str(watched_error.value) == str(unwatched_error.value)


def test_a_copy_and_a_pickle_of_a_file_field_read_their_files():
    instance = with_document()

    for twin in (copy.copy(instance), pickle.loads(pickle.dumps(instance))):
        assert isinstance(twin.document, FieldFile)
        assert twin.document.instance is twin


# --- differential: watched against unwatched, field by field -------------------------

# Values each field takes, valid for every supported database.
_VALUES = {
    "big": st.integers(-(2**62), 2**62),
    "binary": st.binary(max_size=8),
    "flag": st.booleans(),
    "char": st.text(max_size=20),
    "day": st.dates(),
    "amount": st.decimals(-99999, 99999, places=2, allow_nan=False),
    "span": st.timedeltas(datetime.timedelta(days=-999), datetime.timedelta(days=999)),
    "email": st.emails().filter(lambda value: len(value) <= 254),
    "document": st.sampled_from(["", "docs/a.txt", "docs/b.txt"]),
    "ratio": st.floats(-1e6, 1e6, allow_nan=False),
    "address": st.sampled_from([None, "10.0.0.1", "2001:db8::1"]),
    "count": st.integers(-(2**30), 2**30),
    "data": st.dictionaries(st.text(max_size=3), st.integers(0, 9), max_size=3),
    "positive": st.integers(0, 2**30),
    "slug": st.from_regex(r"[a-z0-9-]{0,20}", fullmatch=True),
    "small": st.integers(-(2**15), 2**15 - 1),
    "text": st.text(max_size=30),
    "clock": st.times(),
    "url": st.sampled_from(["", "https://example.com/"]),
    "key": st.none() | st.uuids(),
    "lowered": st.text(max_size=20),
}
# Read, deleted, refreshed and deferred, but never assigned: the database
# computes it.
_READ_ONLY = ["doubled"]
_FIELDS = sorted(_VALUES) + _READ_ONLY

_operations = st.one_of(
    st.tuples(st.just("get"), st.sampled_from(_FIELDS)),
    st.sampled_from(sorted(_VALUES)).flatmap(
        lambda name: st.tuples(st.just("set"), st.just(name), _VALUES[name])
    ),
    st.tuples(st.just("del"), st.sampled_from(_FIELDS)),
    st.tuples(st.just("refresh"), st.sampled_from([None, *_FIELDS])),
    st.tuples(st.just("defer"), st.sampled_from(_FIELDS)),
    st.tuples(st.sampled_from(["save", "pickle", "copy"])),
)


def _shown(value: object) -> object:
    # What a reader sees, in a form that compares across the twins.
    if isinstance(value, FieldFile):
        return ("FieldFile", value.name, value.instance is not None)
    if isinstance(value, memoryview):
        return ("bytes", bytes(value))
    return (type(value).__name__, value)


def _apply(instance: Any, operation: tuple) -> tuple[Any, object]:
    # Run one operation; give back the instance (a copy replaces it) and
    # what was observed: a value shown, or the exception's type.
    kind, *args = operation
    model = type(instance)
    try:
        if kind == "get":
            return instance, _shown(getattr(instance, args[0]))
        if kind == "set":
            setattr(instance, args[0], args[1])
            return instance, _shown(getattr(instance, args[0]))
        if kind == "del":
            delattr(instance, args[0])
        elif kind == "refresh":
            instance.refresh_from_db(fields=None if args[0] is None else args)
        elif kind == "defer":
            instance = model.objects.defer(args[0]).get(pk=instance.pk)
        elif kind == "save":
            with transaction.atomic():
                instance.save()
        elif kind == "pickle":
            instance = pickle.loads(pickle.dumps(instance))
        else:
            instance = copy.copy(instance)
    except Exception as error:
        return instance, type(error).__name__
    return instance, None


def _row(instance: Any) -> dict[str, object]:
    row = type(instance).objects.values().get(pk=instance.pk)
    return {name: _shown(value) for name, value in row.items() if name != "id"}


@settings(max_examples=60, deadline=None)
@given(operations=st.lists(_operations, max_size=10))
def test_a_watched_field_behaves_as_the_same_field_unwatched(operations):
    watched, unwatched = Watched.objects.create(), Unwatched.objects.create()
    watched, unwatched = loaded(watched), loaded(unwatched)

    for operation in operations:
        watched, seen_watched = _apply(watched, operation)
        unwatched, seen_unwatched = _apply(unwatched, operation)
        assert seen_watched == seen_unwatched, operation
        changes_of(watched)  # whatever happened, it can still say

    for name in _FIELDS:
        assert _apply(watched, ("get", name))[1] == _apply(unwatched, ("get", name))[1]
    assert _row(watched) == _row(unwatched)
