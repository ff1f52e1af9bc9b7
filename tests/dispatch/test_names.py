"""``repr()`` of a signal names it as the inspector and tracing do."""

import django.db.models.signals

from signals_app.dispatch import Signal

# Held by this module, as a project's own signals are held by theirs.
order_paid = Signal()


def test_repr_of_a_built_in_signal_names_the_signal_where_django_declares_it():
    assert repr(django.db.models.signals.post_save) == (
        "<ModelSignal django.db.models.signals.post_save>"
    )


def test_repr_of_a_module_level_signal_names_its_module_and_attribute():
    assert repr(order_paid) == "<Signal tests.dispatch.test_names.order_paid>"
