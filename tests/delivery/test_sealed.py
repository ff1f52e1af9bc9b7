"""Signed payloads: only what this project signed, with a key it still holds, opens."""

import json
import uuid

import pytest
from django.core import signing

from signals_app.delivery.decoding import receiver_of
from signals_app.delivery.encoding import arguments_text, encode
from signals_app.delivery.payload import InvalidPayload
from signals_app.delivery.sealed import (
    SALT,
    claimed,
    seal,
    seal_arguments,
    shared_part,
    unseal,
)
from testproject.shop.models import Order, Tag

EVENT = str(uuid.UUID(int=7, version=4))
HEX = uuid.UUID(EVENT).hex
BODY = encode("a receiver", None, {"n": 1}, deleting=False)


def test_a_sealed_payload_opens_as_it_was_sealed():
    data = seal(BODY, EVENT, "skip")

    opened = unseal(data, EVENT, "skip")

    assert (opened.payload, opened.event_id, opened.missing) == (BODY, EVENT, "skip")


def test_the_payload_stays_readable_in_the_task():
    data = seal(BODY, EVENT, "fail")

    text, _, _ = data.rpartition(":")
    assert json.loads(text) == [6, HEX, "fail", "a receiver", None, {"n": 1}]


def test_the_event_id_comes_first_for_backends_that_log_the_start():
    data = seal(BODY, EVENT, "fail")

    assert data.startswith(f'[6,"{HEX}",')


def test_a_part_kept_by_the_producer_seals_the_same_text():
    shared = shared_part("a receiver", BODY["sender"], "skip")
    arguments = arguments_text("a receiver", None, {"n": 1}, deleting=False)

    assert seal_arguments(shared, HEX, arguments) == seal(BODY, EVENT, "skip")


def signed(document: object) -> str:
    """``document`` as JSON text, signed as the project signs tasks."""
    return signing.Signer(salt=SALT).sign(json.dumps(document))


INSTANCE = {"__signals_app__": "instance", "label": "shop.Order", "db": "default"}


def test_a_task_without_a_sender_has_the_model_of_its_instance_as_sender():
    kwargs = {"instance": {**INSTANCE, "pk": 1}}
    data = signed([6, HEX, "fail", "a receiver", kwargs])

    opened = unseal(data)

    assert opened.payload["sender"] == {
        "__signals_app__": "model",
        "label": "shop.Order",
    }
    assert opened.payload["kwargs"] == kwargs


@pytest.mark.parametrize(
    "document",
    [
        [6, HEX, "fail", "a receiver", {"n": 1}],
        [6, HEX, "fail", "a receiver", {"instance": 1}],
        [6, HEX, "fail", "a receiver", {"instance": {"__signals_app__": "model"}}],
        [6, HEX, "fail", "a receiver", {"instance": {**INSTANCE, "label": 1}}],
        [6, HEX, "fail", "a receiver", [INSTANCE]],
    ],
    ids=["no instance", "not tagged", "not an instance", "no label", "no kwargs"],
)
def test_a_task_without_a_sender_or_an_instance_naming_it_is_refused(document):
    with pytest.raises(InvalidPayload, match="no sender, and no instance"):
        unseal(signed(document))


def test_a_format_5_task_without_a_sender_is_refused():
    document = [5, EVENT, "fail", "a receiver", {"instance": {**INSTANCE, "pk": 1}}]

    with pytest.raises(InvalidPayload, match="not a signals_app payload"):
        unseal(signed(document))


def test_a_task_of_format_5_queued_before_an_upgrade_opens_with_its_event_id():
    # Format 5 carried the event id as a UUID's text, of any version.
    event = str(uuid.UUID(int=9))
    data = signed([5, event, "skip", "a receiver", None, {"n": 1}])

    opened = unseal(data)

    assert (opened.payload, opened.event_id, opened.missing) == (BODY, event, "skip")


def test_the_event_id_is_the_version_4_uuid_made_of_the_hex_digits():
    data = signed([6, "f" * 32, "fail", "a receiver", None, {"n": 1}])

    assert unseal(data).event_id == str(uuid.UUID("f" * 32, version=4))


@pytest.mark.parametrize(
    "event_id",
    [EVENT, "g" * 32, "f" * 31, "f" * 33, 7, None, "{" + "f" * 30 + "}"],
    ids=["with dashes", "not hex", "short", "long", "a number", "null", "braced"],
)
def test_a_format_6_event_id_other_than_32_hex_digits_is_refused(event_id):
    data = signed([6, event_id, "fail", "a receiver", None, {"n": 1}])

    with pytest.raises(InvalidPayload, match="is not 32 hex digits"):
        unseal(data)


def test_a_task_of_format_4_queued_before_an_upgrade_opens():
    document = {"event_id": EVENT, "missing": "skip", "payload": {**BODY, "format": 4}}

    opened = unseal(signed(document))

    assert (opened.payload, opened.event_id, opened.missing) == (
        {**BODY, "format": 4},
        EVENT,
        "skip",
    )


@pytest.mark.parametrize(
    "document",
    [
        [5, EVENT, "fail", "a receiver", None],
        [5, EVENT, "fail", "a receiver", None, {}, "extra"],
        [4, EVENT, "fail", "a receiver", None, {}],
        [True, EVENT, "fail", "a receiver", None, {}],
        [5.0, EVENT, "fail", "a receiver", None, {}],
        {"event_id": EVENT, "missing": "fail"},
    ],
    ids=["short", "long", "format 4 as an array", "true", "5.0", "no payload"],
)
def test_a_signed_document_of_another_layout_is_refused(document):
    with pytest.raises(InvalidPayload, match="not a signals_app payload"):
        unseal(signed(document))


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([5, EVENT, "fail", ["r"], None, {}], r"receiver \['r'\] is not a name"),
        (
            [5, EVENT, "fail", "r", None, [1]],
            r"kwargs \[1\] are not a signal's arguments",
        ),
        ([5, EVENT, "fail", "r", None, {"sender": 1}], "are not a signal's arguments"),
    ],
    ids=["receiver", "arguments", "sender among the arguments"],
)
def test_a_signed_array_with_a_part_of_the_wrong_kind_is_refused(document, message):
    with pytest.raises(InvalidPayload, match=message):
        receiver_of(unseal(signed(document)).payload)


def test_a_payload_changed_after_signing_is_refused():
    data = seal(BODY, EVENT, "fail")

    forged = data.replace('"n":1', '"n":2')

    assert forged != data
    with pytest.raises(InvalidPayload, match="bad signature"):
        unseal(forged, EVENT, "fail")


def sent() -> dict:
    """A payload with a value of each kind a forger would change."""
    order = Order(id=5, customer_id=1, number="A-1")
    named = {
        "instance": order,
        "model": Tag,
        "pk_set": {1, 2},
        "using": "default",
    }
    return encode("a receiver", Order, named, deleting=True)


def test_the_same_document_written_again_keeps_its_signature():
    # What makes the test below meaningful: only the change breaks it.
    payload = sent()
    text, _, signature = seal(payload, EVENT, "fail").rpartition(":")

    again = json.dumps(json.loads(text), separators=(",", ":")) + ":" + signature

    assert unseal(again, EVENT, "fail").payload == payload


# The places of the signed array: format, event id, missing, receiver,
# sender, the other arguments.
FORMAT_AT, EVENT_AT, MISSING_AT, RECEIVER_AT, SENDER_AT, KWARGS_AT = range(6)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ((RECEIVER_AT,), "another receiver"),
        ((FORMAT_AT,), 4),
        ((SENDER_AT, "label"), "auth.User"),
        ((KWARGS_AT, "instance", "label"), "auth.User"),
        ((KWARGS_AT, "instance", "fields", "id"), 1),
        ((KWARGS_AT, "instance", "fields", "number"), "B-2"),
        ((KWARGS_AT, "instance", "db"), "other"),
        ((KWARGS_AT, "model", "label"), "auth.Group"),
        ((KWARGS_AT, "pk_set", "items"), [1, 2, 3]),
        ((KWARGS_AT, "using"), "other"),
        ((EVENT_AT,), str(uuid.UUID(int=8))),
        ((MISSING_AT,), "as_sent"),
    ],
    ids=lambda each: ".".join(map(str, each)) if isinstance(each, tuple) else None,
)
def test_each_value_changed_under_the_signature_is_refused(path, value):
    text, _, signature = seal(sent(), EVENT, "fail").rpartition(":")
    document = json.loads(text)
    inner = document
    for key in path[:-1]:
        inner = inner[key]
    inner[path[-1]] = value

    forged = json.dumps(document, separators=(",", ":")) + ":" + signature

    with pytest.raises(InvalidPayload, match="bad signature"):
        unseal(forged)


def test_a_changed_signature_is_refused():
    data = seal(BODY, EVENT, "fail")
    text, _, signature = data.rpartition(":")

    forged = f"{text}:{signature[::-1]}"

    with pytest.raises(InvalidPayload, match="bad signature"):
        unseal(forged, EVENT, "fail")


def test_a_payload_signed_with_a_key_this_project_does_not_hold_is_refused(settings):
    settings.SECRET_KEY = "someone-else"
    data = seal(BODY, EVENT, "fail")
    settings.SECRET_KEY = "ours"

    with pytest.raises(InvalidPayload, match="bad signature"):
        unseal(data, EVENT, "fail")


def test_a_payload_signed_with_a_key_now_in_the_fallbacks_opens(settings):
    settings.SECRET_KEY = "before-rotation"
    data = seal(BODY, EVENT, "fail")
    settings.SECRET_KEY = "after-rotation"
    settings.SECRET_KEY_FALLBACKS = ["before-rotation"]

    assert unseal(data, EVENT, "fail").payload == BODY


@pytest.mark.parametrize("key", ["ours", "clé-ünïcode", b"raw \xff bytes"])
def test_the_signature_is_the_one_djangos_signer_writes_with_our_salt(settings, key):
    # Differential: the key derived once must be the one Signer derives for
    # every value, whatever the type of SECRET_KEY.
    settings.SECRET_KEY = key
    data = seal(BODY, EVENT, "fail")
    text, _, _ = data.rpartition(":")

    assert data == signing.Signer(salt=SALT, algorithm="sha256").sign(text)


def test_a_payload_signed_with_a_key_removed_from_the_settings_is_refused(settings):
    # The derived key of the old secret is still kept: it must not open.
    settings.SECRET_KEY = "before-rotation"
    data = seal(BODY, EVENT, "fail")
    settings.SECRET_KEY = "after-rotation"
    settings.SECRET_KEY_FALLBACKS = []

    with pytest.raises(InvalidPayload, match="bad signature"):
        unseal(data, EVENT, "fail")


@pytest.mark.parametrize(
    "forged",
    ['{"a":"\ud800"}:sig', '{"a":1}:\ud800', '{"a":1}:sïg'],
    ids=["lone surrogate in the text", "in the signature", "non-ascii signature"],
)
def test_text_no_encoder_would_write_is_refused_as_unsigned(forged):
    with pytest.raises(InvalidPayload, match="bad signature"):
        unseal(forged, EVENT, "fail")


def test_a_value_the_project_signed_for_another_purpose_is_refused():
    # Same key, another salt: a signed cookie's value cannot pass for a task.
    text = json.dumps({"event_id": EVENT, "missing": "fail", "payload": BODY})

    with pytest.raises(InvalidPayload, match="bad signature"):
        unseal(signing.Signer().sign(text), EVENT, "fail")
    assert unseal(signing.Signer(salt=SALT).sign(text), EVENT, "fail")


@pytest.mark.parametrize(
    ("event_id", "missing"),
    [(str(uuid.UUID(int=8)), "fail"), (None, "fail"), (EVENT, "as_sent")],
    ids=["another event id", "no event id", "another missing"],
)
def test_task_arguments_that_differ_from_the_signed_ones_are_refused(event_id, missing):
    data = seal(BODY, EVENT, "fail")

    with pytest.raises(InvalidPayload, match="are not the signed ones"):
        unseal(data, event_id, missing)


def test_a_payload_of_the_unsigned_format_2_is_refused_naming_the_upgrade():
    old = {"format": 2, "receiver": "r", "sender": None, "kwargs": {}}

    with pytest.raises(
        InvalidPayload,
        match="payload format 2, this version reads 3, 4, 5 and 6, signed: a task "
        "queued by an older release",
    ):
        unseal(old, EVENT, "fail")


@pytest.mark.parametrize("data", [None, 42, ["a", "b"], {"payload": BODY}])
def test_anything_but_signed_text_is_refused(data):
    with pytest.raises(InvalidPayload, match="not a signals_app payload"):
        unseal(data, EVENT, "fail")


def test_text_without_a_signature_is_refused():
    with pytest.raises(InvalidPayload, match="bad signature"):
        unseal(json.dumps({"payload": BODY}), EVENT, "fail")


def test_a_claimed_event_id_that_would_break_a_log_line_is_escaped():
    document = [6, "1\nCRITICAL forged", "fail", "a receiver", None, {}]
    data = json.dumps(document) + ":signature"

    _, event_id = claimed(data)

    assert event_id == repr("1\nCRITICAL forged")


def test_the_claimed_receiver_is_read_without_the_signature():
    data = seal(BODY, EVENT, "fail")

    assert claimed(data + "tampered") == ("a receiver", EVENT)


@pytest.mark.parametrize("data", [None, "no json:sig", '{"payload": 3}:sig'])
def test_a_task_that_claims_no_receiver_is_named_by_a_question_mark(data):
    assert claimed(data) == ("?", "?")


def test_a_claimed_receiver_that_would_break_a_log_line_is_escaped():
    body = encode("r\nERROR forged line", None, {}, deleting=False)

    receiver, _ = claimed(seal(body, EVENT, "fail"))

    assert receiver == repr("r\nERROR forged line")


def test_a_task_nested_too_deep_to_parse_claims_no_receiver():
    assert claimed("[" * 100_000 + ":sig") == ("?", "?")
