"""RFC 3339 as Kubernetes writes it: one parser for pod times, log stamps and pinned lines."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from warroom.core.rfc3339 import SECOND, format_nano, format_seconds, parse_datetime, parse_ns

T = 1_500_000_000 * SECOND  # 2017-07-14T02:40:00Z


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("2017-07-14T02:40:00Z", T),
        ("2017-07-14T02:40:00.000000005Z", T + 5),
        ("2017-07-14T02:40:00.12Z", T + 120_000_000),
        ("2017-07-14T02:40:00.1234567891234Z", T + 123_456_789),  # Go keeps nine digits
        ("2017-07-14T04:40:00+02:00", T),
        ("2017-07-14T01:10:00.5-01:30", T + SECOND // 2),
        ("2017-07-14t02:40:00z", T),
        ("1969-12-31T23:59:59.5Z", -SECOND // 2),
    ],
)
def test_parse_ns_keeps_every_nanosecond(text: str, ns: int) -> None:
    assert parse_ns(text) == ns


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2017-07-14T02:40:00",
        "2017-07-14",
        "2017-07-14T02:40:00.Z",
        "2017-13-14T02:40:00Z",
        "garbage",
        "2017-07-14T02:40:00Z trailing",
        "２０17-07-14T02:40:00Z",
    ],
)
def test_parse_ns_refuses_what_is_not_rfc_3339(text: str) -> None:
    with pytest.raises(ValueError):
        parse_ns(text)


def test_parse_datetime_is_aware_utc_to_the_microsecond() -> None:
    moment = parse_datetime("2017-07-14T04:40:00.123456789+02:00")
    assert moment == datetime(2017, 7, 14, 2, 40, 0, 123456, tzinfo=UTC)
    assert moment.isoformat() == "2017-07-14T02:40:00.123456+00:00"
    assert parse_datetime("2017-07-14T02:40:00Z").isoformat() == "2017-07-14T02:40:00+00:00"


def test_formats_round_trip_through_the_parser() -> None:
    assert format_seconds(T + 999_999_999) == "2017-07-14T02:40:00Z"
    assert format_nano(T) == "2017-07-14T02:40:00Z"
    assert format_nano(T + 5) == "2017-07-14T02:40:00.000000005Z"
    assert format_nano(T + 120_000_000) == "2017-07-14T02:40:00.12Z"
    for ns in (T, T + 1, T + 120_000_000, T + 999_999_999):
        assert parse_ns(format_nano(ns)) == ns
