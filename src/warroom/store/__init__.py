"""The local SQLite event log: the truth on this machine."""

from warroom.store.log import EventLog, IncidentNotFound, StoreError, TimelineFilter

__all__ = ["EventLog", "IncidentNotFound", "StoreError", "TimelineFilter"]
