"""
Differential tests: ours against ``django.dispatch.Signal``.

Hypothesis generates sequences of operations (connect, disconnect, the sends,
has_listeners, and dropping the last reference to a receiver). Each sequence
is applied to one of our signals and to one of Django's, side by side, and
every result, every receiver call and the live ``receivers`` must agree.

Senders stay alive for a whole sequence: Django 5.2 can reach a dead sender's
receivers from a new object with its id(), which ours fixes on purpose. With
``use_caching=True`` Django cannot send from senders it cannot weakly
reference, nor ask ``has_listeners()`` without one, so those are not
generated for it.
"""

import asyncio
import gc
import weakref

import django.dispatch
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signals_app.dispatch import Signal
from tests.helpers import deref


class Failure(Exception):
    pass


class Sender:
    pass


# Weakly referenceable senders first: use_caching=True sends only from those.
SENDER_LABELS = ["instance", "class", "None", "string", "int"]
WEAKREFABLE = SENDER_LABELS[:2]
RECEIVER_NAMES = ["f1", "f2", "m1", "m2", "c1", "fail", "async"]
UIDS = [None, None, "uid-a", "uid-b"]
# Keyword names a send may carry: post_save's, names the compiled sends use
# themselves or once did, names source cannot spell (so no send is
# compiled), and the two that clash with send()'s own arguments.
KEYWORD_NAMES = [
    "instance",
    "created",
    "using",
    "update_fields",
    "receiver",
    "kwargs",
    "refs",
    "named",
    "v0",
    "_rest",
    "_signal",
    "a-b",
    "class",
    "\ufb01le",
    "signal",
    "self",
]
# Sends and the names drawn for them; asend()'s, which Django 6.1 checks in
# another order, leave out the two clashing names.
CLASHING = {"signal", "self"}


class Pool:
    """
    The receivers and senders of one sequence, and a log of every call.

    Each signal gets a pool of its own, so nothing one signal keeps alive can
    keep the other's receivers alive; names tie the two pools together.
    """

    def __init__(self):
        self.log = []
        self.signal = None  # the signal being exercised, checked by receivers
        self.senders = {
            "instance": Sender(),
            "class": type("Sender", (), {}),
            "None": None,
            "string": "app_label.model",
            "int": 10**12,
        }
        self.owners = {}  # name -> what keeps the receiver alive
        for name in ("f1", "f2"):
            self.owners[name] = self._function(name)
        for name in ("m1", "m2"):
            self.owners[name] = _Handler(name, self)
        self.owners["c1"] = _CallableReceiver("c1", self)
        self.owners["fail"] = self._failing()
        self.owners["async"] = self._async()
        # Names for the ids in Django's lookup keys, (receiver id, sender id).
        self.names = {identity(self.receiver(name)): name for name in self.owners}
        self.labels = {id(sender): label for label, sender in self.senders.items()}

    def record(self, name, kwargs):
        named = [(k, v) for k, v in kwargs.items() if k not in ("signal", "sender")]
        self.log.append(
            (
                name,
                self.labels[id(kwargs["sender"])],
                tuple(sorted(named)),
                kwargs["signal"] is self.signal,
            )
        )

    def receiver(self, name):
        owner = self.owners[name]
        return owner.handle if isinstance(owner, _Handler) else owner

    def key(self, lookup_key):
        receiver_id, sender_id = lookup_key
        return self.names.get(receiver_id, receiver_id), self.labels[sender_id]

    def _function(self, name):
        def receive(**kwargs):
            self.record(name, kwargs)
            return name

        receive.receiver_name = name
        return receive

    def _failing(self):
        def fail(**kwargs):
            self.record("fail", kwargs)
            raise Failure("fail")

        fail.receiver_name = "fail"
        return fail

    def _async(self):
        async def receive_async(**kwargs):
            self.record("async", kwargs)
            return "async"

        receive_async.receiver_name = "async"
        return receive_async


class _Handler:
    def __init__(self, name, pool):
        self.receiver_name = name
        self.pool = pool

    def handle(self, **kwargs):
        self.pool.record(self.receiver_name, kwargs)
        return self.receiver_name


class _CallableReceiver(_Handler):
    def __call__(self, **kwargs):
        return self.handle(**kwargs)


def identity(receiver):
    # How Django identifies a receiver in its lookup keys: a bound method by
    # its instance and function, anything else by its id().
    if hasattr(receiver, "__func__"):
        return (id(receiver.__self__), id(receiver.__func__))
    return id(receiver)


def name_of(receiver):
    return getattr(receiver, "__self__", receiver).receiver_name


def outcome(value):
    """A comparable stand-in for a result, holding no receiver or sender."""
    if isinstance(value, TypeError):
        # send_robust() returns the clash of a name with ``signal``.
        return ("error", "TypeError")
    if isinstance(value, BaseException):
        return ("error", type(value).__name__, value.args)
    if isinstance(value, list):
        return [(name_of(receiver), outcome(response)) for receiver, response in value]
    return value


def live_entries(signal, pool):
    entries = ((entry[0], deref(entry[1])) for entry in signal.receivers)
    return [(pool.key(key), name_of(receiver)) for key, receiver in entries if receiver]


def operations(use_caching):
    senders = st.sampled_from(SENDER_LABELS)
    send_senders = st.sampled_from(WEAKREFABLE if use_caching else SENDER_LABELS)
    receivers = st.sampled_from(RECEIVER_NAMES)
    uids = st.sampled_from(UIDS)
    listen_senders = send_senders if use_caching else st.none() | send_senders
    by_kind = {
        "connect": st.tuples(
            st.just("connect"), receivers, senders, st.booleans(), uids
        ),
        # Sent up to three times in a row: from the second time, with the
        # same names, ours goes through the send compiled for them.
        "send": st.sampled_from(["send", "send_robust"]).flatmap(
            lambda kind: st.tuples(
                st.just(kind),
                send_senders,
                keyword_arguments(KEYWORD_NAMES),
                st.integers(1, 3),
            )
        ),
        "asend": st.sampled_from(["asend", "asend_robust"]).flatmap(
            lambda kind: st.tuples(
                st.just(kind),
                send_senders,
                keyword_arguments([n for n in KEYWORD_NAMES if n not in CLASHING]),
                st.just(1),
            )
        ),
        "disconnect": st.tuples(
            st.just("disconnect"), st.none() | receivers, senders, uids
        ),
        "has_listeners": st.tuples(st.just("has_listeners"), listen_senders),
        "drop": st.tuples(st.just("drop"), receivers),
    }
    # Drawn in these proportions: enough connections to have something to
    # send to, disconnect and drop.
    kinds = ["connect"] * 4 + ["send"] * 3 + ["asend"]
    kinds += ["disconnect", "has_listeners", "drop"]
    return st.sampled_from(kinds).flatmap(by_kind.__getitem__)


def keyword_arguments(names):
    """A send's keyword arguments: a few distinct names, in any order."""
    return st.lists(st.sampled_from(names), unique=True, max_size=4).map(
        lambda chosen: tuple((name, index) for index, name in enumerate(chosen))
    )


def apply(signal, pool, operation):
    kind, *args = operation
    pool.signal = signal
    try:
        if kind == "connect":
            name, sender, weak, uid = args
            if name not in pool.owners:
                return "skipped: dropped"
            signal.connect(
                pool.receiver(name),
                sender=pool.senders[sender],
                weak=weak,
                dispatch_uid=uid,
            )
            return None
        if kind == "disconnect":
            name, sender, uid = args
            if name is not None and name not in pool.owners:
                return "skipped: dropped"
            receiver = None if name is None else pool.receiver(name)
            return signal.disconnect(
                receiver, sender=pool.senders[sender], dispatch_uid=uid
            )
        if kind == "has_listeners":
            [sender] = args
            if sender is None:
                return signal.has_listeners()
            return signal.has_listeners(pool.senders[sender])
        sender, arguments, times = args
        named = dict(arguments)
        if kind.startswith("a"):
            send = getattr(signal, kind)
            return outcome(asyncio.run(send(pool.senders[sender], **named)))
        # Looked up for each send: the first may set the compiled one.
        return [
            outcome(getattr(signal, kind)(pool.senders[sender], **named))
            for _ in range(times)
        ]
    except Failure as error:
        return ("raised", outcome(error))
    except TypeError:
        # A clashing name: which message says so is not compared.
        return ("raised", "TypeError")


def run_side_by_side(operation_list, use_caching):
    ours = Signal(use_caching=use_caching)
    djangos = django.dispatch.Signal(use_caching=use_caching)
    our_pool, django_pool = Pool(), Pool()

    for operation in operation_list:
        if operation[0] == "drop":
            dropped = [
                weakref.ref(pool.owners.pop(operation[1], None) or Sender())
                for pool in (our_pool, django_pool)
            ]
            # Receivers mostly die by reference counting here; a cycle that
            # aged past the young generations (seen on a loaded machine)
            # needs a full collection to die on both sides at once.
            gc.collect()
            _assert_both_or_neither_alive(*dropped, operation)
        else:
            our_result = apply(ours, our_pool, operation)
            django_result = apply(djangos, django_pool, operation)
            assert our_result == django_result, operation
            if operation[0].startswith("a"):
                # asend runs sync receivers in a thread, alongside the
                # async ones: which goes first is up to the scheduler.
                our_pool.log.sort()
                django_pool.log.sort()
                if isinstance(our_result, tuple) and our_result[0] == "raised":
                    # And when a sync receiver raises, so is whether the
                    # async ones ran before the send gave up on them.
                    _forget_async(our_pool.log)
                    _forget_async(django_pool.log)
            assert our_pool.log == django_pool.log, operation
            assert all(signal_was_right for *_, signal_was_right in our_pool.log)
            our_pool.log.clear()
            django_pool.log.clear()
        assert live_entries(ours, our_pool) == live_entries(djangos, django_pool)


def _assert_both_or_neither_alive(ours, djangos, operation):
    # A receiver connected with weak=False outlives its drop on both sides.
    # One alive on a side only would surface later as a confusing mismatch
    # of calls; name what still holds it instead.
    if (ours() is None) != (djangos() is None):
        side, survivor = (
            ("ours", ours()) if djangos() is None else ("Django's", djangos())
        )
        holders = [type(referrer).__name__ for referrer in gc.get_referrers(survivor)]
        pytest.fail(f"{operation}: alive on {side} side only, held by {holders}")


def _forget_async(log):
    log[:] = [entry for entry in log if entry[0] != "async"]


DIFFERENTIAL_SETTINGS = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@DIFFERENTIAL_SETTINGS
@given(operation_list=st.lists(operations(use_caching=False), min_size=5, max_size=40))
def test_ours_behaves_like_djangos_signal(operation_list):
    run_side_by_side(operation_list, use_caching=False)


@DIFFERENTIAL_SETTINGS
@given(operation_list=st.lists(operations(use_caching=True), min_size=5, max_size=40))
def test_ours_behaves_like_djangos_caching_signal(operation_list):
    run_side_by_side(operation_list, use_caching=True)


def test_the_comparison_notices_a_difference(monkeypatch):
    # Guard against a harness that compares nothing: break ours on purpose.
    monkeypatch.setattr(Signal, "has_listeners", lambda self, sender=None: True)

    with pytest.raises(AssertionError):
        run_side_by_side([("has_listeners", "instance")], use_caching=False)


def test_the_comparison_notices_a_keyword_argument_lost(monkeypatch):
    # The same guard for the keyword arguments receivers get.
    send = Signal.send
    monkeypatch.setattr(Signal, "send", lambda self, sender, **kw: send(self, sender))
    operations = [
        ("connect", "f1", "None", False, None),
        ("send", "instance", (("instance", 0),), 2),
    ]

    with pytest.raises(AssertionError):
        run_side_by_side(operations, use_caching=False)


def test_the_comparison_names_a_receiver_kept_alive_on_one_side(monkeypatch):
    # Ours holding a weakly connected receiver strongly fails at the drop,
    # saying which side keeps it, not at some later send.
    connect = Signal.connect
    monkeypatch.setattr(
        Signal,
        "connect",
        lambda self, receiver, **kw: connect(self, receiver, **{**kw, "weak": False}),
    )
    operations = [("connect", "f1", "None", True, None), ("drop", "f1")]

    with pytest.raises(pytest.fail.Exception, match="alive on ours side only"):
        run_side_by_side(operations, use_caching=False)


def test_ours_behaves_like_djangos_through_the_compiled_sends():
    # Hypothesis draws repeated sends with receivers and names seldom; here
    # each name set is sent thrice (the compiled send from the second),
    # then another set, fewer names, more, and the first again.
    save = (("instance", 0), ("created", 1), ("update_fields", 2), ("using", 3))
    name_sets = [save, (("instance", 4),), (("v0", 5), ("_rest", 6)), (), save]
    operations = [
        ("connect", "f1", "None", False, None),
        ("connect", "m1", "instance", False, None),
    ]
    for sender in ("instance", "class"):
        operations += [("send", sender, names, 3) for names in name_sets]

    run_side_by_side(operations, use_caching=False)
