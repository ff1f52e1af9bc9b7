"""
The compiled send with receivers that have a condition: it must decide and
call exactly as the general path (the class's ``send()``) does.
"""

import threading

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signals_app.dispatch import Signal
from signals_app.dispatch.callers import is_compiled_send
from signals_app.dispatch.conditions import Condition
from tests.recorder import Recorder

SAVE_NAMES = {"instance": 1, "created": True, "raw": False, "using": "default"}


class Answer(Condition):
    """Answers ``check()`` with ``answer``: None, a dict, or an error to raise."""

    def __init__(self, answer):
        self.answer = answer

    def check(self, sender, named):
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def compiled(signal):
    return is_compiled_send(signal.__dict__.get("send"))


def test_a_signal_whose_receivers_all_have_conditions_gets_a_compiled_send(signal):
    Recorder().connect(signal, when=Answer({}))

    signal.send("sender", **SAVE_NAMES)

    assert compiled(signal)


def test_what_a_condition_adds_reaches_the_receiver_from_the_compiled_send(signal):
    recorder = Recorder().connect(signal, when=Answer({"changes": "c"}))

    for _ in range(2):
        signal.send("sender", **SAVE_NAMES)

    assert compiled(signal)
    assert recorder.received() == 2 * [
        {"signal": signal, "sender": "sender", **SAVE_NAMES, "changes": "c"}
    ]


def test_a_name_a_condition_replaces_keeps_its_place_among_the_arguments(signal):
    # {**sent, **added}, as the general path merges them: "created" is
    # replaced where it stands, "extra" comes last.
    recorder = Recorder().connect(signal, when=Answer({"extra": 1, "created": "x"}))

    for _ in range(2):
        signal.send("sender", **SAVE_NAMES)

    assert list(recorder.calls[-1].kwargs.items()) == [
        ("instance", 1),
        ("created", "x"),
        ("raw", False),
        ("using", "default"),
        ("extra", 1),
    ]


def test_a_condition_added_and_removed_between_sends_is_honoured(signal):
    plain = Recorder("plain").connect(signal)
    gated = Recorder("gated")
    signal.send("sender", **SAVE_NAMES)  # the compiled send is now in place

    gated.connect(signal, when=Answer({"seen": True}))
    signal.send("sender", **SAVE_NAMES)
    gated.disconnect()
    signal.send("sender", **SAVE_NAMES)

    assert compiled(signal)
    assert (len(plain.calls), len(gated.calls)) == (3, 1)
    assert gated.calls[0].kwargs["seen"] is True


def test_threads_connecting_conditioned_receivers_lose_no_delivery(signal):
    # One thread sends while others connect and disconnect conditioned
    # receivers: those connected throughout get every send, once.
    stays = Recorder("stays").connect(signal)
    gated = Recorder("gated").connect(signal, when=Answer({"seen": True}))
    sends = 300
    done = threading.Event()

    def churn(index):
        comers = [Recorder(f"comer {index}.{i}") for i in range(5)]
        while not done.is_set():
            for comer in comers:
                comer.connect(signal, when=Answer({}))
            for comer in comers:
                comer.disconnect()

    def send():
        for _ in range(sends):
            signal.send("sender", **SAVE_NAMES)
        done.set()

    threads = [threading.Thread(target=churn, args=(i,)) for i in range(2)]
    threads.append(threading.Thread(target=send))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert compiled(signal)
    assert (len(stays.calls), len(gated.calls)) == (sends, sends)
    assert all(call.kwargs["seen"] is True for call in gated.calls)


# --- differential: the compiled send against the class's general path -------

ANSWERS = st.one_of(
    st.none(),  # no condition
    st.sampled_from(
        [
            ("answer", None),
            ("answer", {}),
            ("answer", {"changes": "c"}),
            ("answer", {"changes": "c", "more": 2}),
            ("answer", {"instance": "replaced"}),
            ("answer", {"sender": "other", "signal": "other"}),
            ("answer", {"a-b": 1}),
            ("answer", {"class": 1}),
            ("raise", None),
        ]
    ),
)
RECEIVERS = st.lists(st.tuples(ANSWERS, st.booleans()), min_size=1, max_size=5)
SENDS = st.lists(
    st.fixed_dictionaries(
        {}, optional={name: st.integers(0, 3) for name in SAVE_NAMES}
    ),
    min_size=1,
    max_size=6,
)


class Boom(Exception):
    pass


def _connect(signal, receivers, log):
    kept = []
    for index, (answer, raises) in enumerate(receivers):

        def receiver(index=index, raises=raises, **kwargs):
            log.append((index, list(kwargs.items())))
            if raises:
                raise Boom(index)
            return index

        kept.append(receiver)
        when = None
        if answer is not None:
            kind, value = answer
            when = Answer(Boom("condition") if kind == "raise" else value)
        signal.connect(receiver, sender="sender", when=when)
    return kept


def _outcome(send, log):
    try:
        responses = send()
    except Exception as error:
        return ("raised", type(error), str(error), list(log))
    return ("returned", [(r.__defaults__[0], v) for r, v in responses], list(log))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(receivers=RECEIVERS, sends=SENDS)
def test_the_compiled_send_decides_as_the_general_path(receivers, sends):
    compiled_signal, general_signal = Signal(), Signal()
    compiled_log, general_log = [], []
    kept = [
        _connect(compiled_signal, receivers, compiled_log),
        _connect(general_signal, receivers, general_log),
    ]
    for named in sends:
        # Each set of names sent twice: the second goes through the
        # compiled send that the first set.
        for _ in range(2):
            compiled_log.clear()
            general_log.clear()
            got = _outcome(
                lambda named=named: compiled_signal.send("sender", **named),
                compiled_log,
            )
            expected = _outcome(
                lambda named=named: Signal.send(general_signal, "sender", **named),
                general_log,
            )
            assert got[:2] == expected[:2]
            assert _without_signal(got) == _without_signal(expected)
        assert compiled(compiled_signal)
    assert kept


def _without_signal(outcome):
    # Each side's receivers get their own signal: compare everything else.
    # The names may come in another order, as docs/reference/dispatch.md says.
    def call(entry):
        index, items = entry
        return index, {k: "<signal>" if isinstance(v, Signal) else v for k, v in items}

    *head, log = outcome
    return (*head, [call(entry) for entry in log])
