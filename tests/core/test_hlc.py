import pytest

from warroom.core.hlc import HLC_RE, HybridClock, Stamp, stamp_time
from warroom.core.ids import ULID_RE


def test_stamps_increase_even_when_the_wall_clock_goes_back():
    times = iter([1000, 1000, 999, 500, 2000])
    clock = HybridClock(lambda: next(times))
    stamps = [clock.tick() for _ in range(5)]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == 5
    assert stamps[-1] == Stamp(2000, 0)
    assert stamps[2] == Stamp(1000, 2)


def test_observe_orders_later_ticks_after_a_peer_that_runs_ahead():
    clock = HybridClock(lambda: 1000)
    clock.observe(Stamp(5000, 7))
    assert clock.tick() == Stamp(5000, 8)


def test_encoding_sorts_like_the_stamps_and_round_trips():
    stamps = [Stamp(999, 5), Stamp(1000, 0), Stamp(1000, 10), Stamp(10**12, 2)]
    encoded = [s.encode() for s in stamps]
    assert encoded == sorted(encoded)
    assert [Stamp.parse(e) for e in encoded] == stamps
    assert stamp_time(Stamp(1_700_000_000_000).encode()).year == 2023


def test_parse_rejects_garbage():
    with pytest.raises(ValueError, match="not a hybrid"):
        Stamp.parse("yesterday")


# Stamps and ids come from outside (sync, import): only ASCII digits may pass. Python's `\d`
# and int() accept every Unicode digit, and such a stamp sorts after every real one, so it
# would win every last-writer-wins field on every replica.
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
REAL = "1764000000000-000001"


@pytest.mark.parametrize(
    "text",
    [
        REAL.translate(ARABIC_INDIC),
        REAL.translate(FULLWIDTH),
        REAL[:-1] + "١",
        "١" + REAL[1:],
        REAL + "\n",
        " " + REAL,
        REAL.replace("-", "‐"),
    ],
    ids=[
        "arabic-indic",
        "fullwidth",
        "one-digit-last",
        "one-digit-first",
        "newline",
        "space",
        "dash",
    ],
)
def test_only_ascii_stamps_parse(text):
    with pytest.raises(ValueError, match="not a hybrid"):
        Stamp.parse(text)
    assert not HLC_RE.fullmatch(text)


def test_the_envelope_refuses_a_stamp_or_id_in_other_digits():
    from pydantic import ValidationError

    from warroom.core.events import Event

    good = {
        "id": "01KB0000000000000000000000",
        "incident_id": "01KB0000000000000000000001",
        "device_id": "d",
        "hlc": REAL,
        "actor": "a",
        "kind": "note",
        "payload": {"text": "x"},
    }
    assert Event.checked(good).hlc == REAL
    bad_ids = [
        {"hlc": REAL.translate(ARABIC_INDIC)},
        {"hlc": REAL[:-1] + "٣"},
        {"id": "01KB00000000000000000000٠٠"},
        {"id": "ZZZZZZZZZZZZZZZZZZZZZZZZZZ"},  # above 2**128: not a ULID
        {"incident_id": "01KB000000000000000000000\n"},
    ]
    for change in bad_ids:
        with pytest.raises(ValidationError):
            Event.checked({**good, **change})


def test_ulid_pattern_takes_ascii_crockford_only():
    assert ULID_RE.fullmatch("7ZZZZZZZZZZZZZZZZZZZZZZZZZ")
    for text in [
        "8ZZZZZZZZZZZZZZZZZZZZZZZZZ",
        "01KB00000000000000000000٠٠",
        "01kb0000000000000000000000",
    ]:
        assert not ULID_RE.fullmatch(text)


def test_an_export_stamped_in_other_digits_is_not_imported():
    import json

    from warroom.core.export import from_json
    from warroom.core.export.jsonlog import ImportError_

    event = {
        "id": "01KB0000000000000000000000",
        "incident_id": "01KB0000000000000000000001",
        "device_id": "d",
        "hlc": REAL.translate(ARABIC_INDIC),
        "actor": "a",
        "kind": "status_changed",
        "payload": {"status": "resolved"},
    }
    doc = {"format": "warroom.incident", "version": 1, "incident_id": event["incident_id"]}
    with pytest.raises(ImportError_, match="event 0: hlc"):
        from_json(json.dumps({**doc, "events": [event]}))
