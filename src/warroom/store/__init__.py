"""The local SQLite event log: the truth on this machine."""

from warroom.store.database import IncidentNotFound, StoreError
from warroom.store.log import EventLog
from warroom.store.timeline import TimelineFilter

__all__ = ["EventLog", "IncidentNotFound", "StoreError", "TimelineFilter"]
