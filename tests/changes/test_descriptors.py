"""
signals_app.changes.descriptors: a watched field behaves as the same field
unwatched, and only adds the old value kept on write.
"""

import copy
import io
import pickle

import pytest
from django.core.files.base import ContentFile
from django.core.files.images import ImageFile
from django.db.models.fields.files import FieldFile, FileDescriptor, ImageFieldFile
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


def test_a_copy_and_a_pickle_of_a_file_field_read_their_files():
    instance = with_document()

    for twin in (copy.copy(instance), pickle.loads(pickle.dumps(instance))):
        assert isinstance(twin.document, FieldFile)
        assert twin.document.instance is twin
