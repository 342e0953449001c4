"""The collector is held back only between `hold` and `release`, and only once."""

from __future__ import annotations

import gc

from warroom import gcpause


def test_hold_then_release_restores_the_thresholds_and_release_alone_changes_nothing():
    usual = gc.get_threshold()
    frozen = gc.get_freeze_count()
    gcpause.release()  # never held: a test's app reaching its first frame
    assert gc.get_threshold() == usual and gc.get_freeze_count() == frozen
    gcpause.hold()
    try:
        assert gc.get_threshold()[0] > usual[0]
        gcpause.hold()  # twice: the usual thresholds are still the ones kept
    finally:
        gcpause.release()
        gc.unfreeze()
    assert gc.get_threshold() == usual
