"""class_prepared reaches our receivers when a model class is defined."""

from django.db import models
from django.db.models import signals as django_signals
from django.test.utils import isolate_apps

from signals_app import signals
from tests.recorder import assert_same_calls


@isolate_apps("testproject.shop")
def test_defining_a_model_sends_class_prepared(record):
    ours = record(signals.class_prepared)
    theirs = record(django_signals.class_prepared)

    class Coupon(models.Model):  # noqa: DJ008
        code = models.CharField(max_length=10)

        class Meta:
            app_label = "shop"

    assert_same_calls(ours, theirs)
    assert ours.senders == [Coupon]
    assert ours.calls[0].kwargs == {}
