"""Postmortem and log exports. Same events in, same bytes out."""

from warroom.core.export.csvlog import to_csv
from warroom.core.export.jsonlog import from_json, to_json
from warroom.core.export.markdown import to_markdown

FORMATS = ("md", "json", "csv")

__all__ = ["FORMATS", "from_json", "to_csv", "to_json", "to_markdown"]
