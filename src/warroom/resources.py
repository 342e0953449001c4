"""Files shipped with the package (Textual stylesheets)."""

from __future__ import annotations

from pathlib import Path


def styles_dir() -> Path:
    """The installed `warroom/styles`; in a source checkout, the repository's `styles/`."""
    here = Path(__file__).parent
    installed = here / "styles"
    if installed.is_dir():
        return installed
    return here.parents[1] / "styles"
