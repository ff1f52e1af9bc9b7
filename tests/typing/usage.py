"""
The public API as a type checker sees it: checked by mypy (scripts/lint),
never run.

A line ending in ``# type: ignore[...]`` is a mistake mypy must report.
mypy runs with ``warn_unused_ignores``, so once such a line stops being
reported, the comment itself is reported and the check fails.
"""

from collections.abc import Callable
from typing import Any, assert_type

from signals_app.delivery import ON_COMMIT, QUEUED, Queued
from signals_app.dispatch import Signal, receiver
from signals_app.signals import post_save

order_paid = Signal()


def saved(sender: Any, **kwargs: Any) -> None:
    pass


# Every delivery, by its name or as an object.
post_save.connect(saved, sender="blog.Post", delivery=Queued(missing="skip"))
post_save.connect(saved, sender="blog.Post", delivery="on_commit")
post_save.connect(saved, sender="blog.Post", delivery="task")
post_save.connect(saved, sender="blog.Post", delivery="now")
post_save.connect(saved, delivery=ON_COMMIT)
post_save.connect(saved, delivery=QUEUED)
order_paid.connect(saved, delivery="on_commit")
order_paid.connect(saved, delivery=Queued(missing="as_sent"))

# Names that are not deliveries: misspelt, from another library, or None.
post_save.connect(saved, sender="blog.Post", delivery="on-commit")  # type: ignore[arg-type]
post_save.connect(saved, delivery="queued")  # type: ignore[arg-type]
post_save.connect(saved, delivery=None)  # type: ignore[arg-type]
order_paid.connect(saved, delivery="Task")  # type: ignore[arg-type]


# The decorator checks its arguments as connect() does...
@receiver(post_save, sender="blog.Post", delivery=Queued(missing="skip"))
def indexed(sender: Any, **kwargs: Any) -> int:
    return 1


@receiver([post_save, order_paid], delivery="oncommit")  # type: ignore[arg-type]
def mailed(sender: Any, **kwargs: Any) -> None:
    pass


@receiver(post_save, sender="blog.Post", deliver="task")  # type: ignore[call-arg]
def misnamed(sender: Any, **kwargs: Any) -> None:
    pass


# ...and hands the function back with its own type.
assert_type(indexed(sender=None), int)

# What sending and disconnecting return.
assert_type(
    order_paid.send(sender=None, number="A1"), list[tuple[Callable[..., Any], Any]]
)
assert_type(order_paid.disconnect(saved), bool)
