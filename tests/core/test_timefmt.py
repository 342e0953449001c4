"""Fast local times stay right at the limits of datetime, whatever a peer stored."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warroom.core.timefmt import TimeFormatter

ZONES = ["UTC", "Asia/Tokyo", "Pacific/Kiritimati", "America/New_York", "Asia/Kathmandu"]


def test_years_before_1000_keep_four_digits():
    fmt = TimeFormatter(ZoneInfo("UTC"))
    assert fmt.dt(datetime(1, 1, 1, tzinfo=UTC)) == "0001-01-01 00:00:00"
    assert fmt.dt(datetime(999, 3, 4, 5, 6, 7, tzinfo=UTC)) == "0999-03-04 05:06:07"


def test_the_second_before_the_epoch_is_a_time_like_any_other():
    fmt = TimeFormatter(ZoneInfo("UTC"))
    assert fmt.ms(-1) == "1969-12-31 23:59:59"
    assert fmt.ms(-1000) == "1969-12-31 23:59:59"


@pytest.mark.parametrize(
    ("zone", "moment", "shown"),
    [
        ("Asia/Tokyo", datetime(9999, 12, 31, 23, 59, tzinfo=UTC), "9999-12-31 23:59:00 UTC"),
        ("America/New_York", datetime(1, 1, 1, 1, 0, tzinfo=UTC), "0001-01-01 01:00:00 UTC"),
        ("Asia/Tokyo", datetime(9999, 12, 31, 12, 0, tzinfo=UTC), "9999-12-31 21:00:00"),
    ],
)
def test_a_local_time_beyond_year_9999_or_before_year_1_is_shown_in_utc(zone, moment, shown):
    assert TimeFormatter(ZoneInfo(zone)).dt(moment) == shown


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.datetimes(timezones=st.just(UTC)), st.sampled_from(ZONES))
def test_any_moment_is_formatted_as_datetime_would_or_marked_utc(moment, zone):
    moment = moment.replace(microsecond=0)
    tz = ZoneInfo(zone)
    shown = TimeFormatter(tz).dt(moment)
    try:
        local = moment.astimezone(tz)
    except OverflowError:
        assert shown == f"{moment.year:04d}-{moment:%m-%d %H:%M:%S} UTC"
    else:
        assert shown == f"{local.year:04d}-{local:%m-%d %H:%M:%S}"
