from warroom.core.hlc import HybridClock, Stamp, stamp_time


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
    import pytest

    with pytest.raises(ValueError, match="not a hybrid"):
        Stamp.parse("yesterday")
