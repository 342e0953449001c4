"""Loading template overrides from files in the config dir (`templates/NAME.txt`).

A file named like a built-in template (`initial.txt`) replaces it; any other name adds one.
The first line may be `# name: Human name | audience` to title it.
"""

from __future__ import annotations

from pathlib import Path

from warroom.config import config_path
from warroom.core.templates import DEFAULT_TEMPLATES, Template

MAX_TEMPLATE_BYTES = 64 * 1024


def template_dir() -> Path:
    return config_path().parent / "templates"


def load_templates(directory: Path | None = None) -> tuple[list[Template], list[str]]:
    """Built-ins merged with files; returns (templates, problems) and never raises."""
    directory = directory or template_dir()
    found = {t.key: t for t in DEFAULT_TEMPLATES}
    problems: list[str] = []
    if not directory.is_dir():
        return list(found.values()), problems
    for path in sorted(directory.glob("*.txt")) + sorted(directory.glob("*.j2")):
        try:
            if path.stat().st_size > MAX_TEMPLATE_BYTES:
                problems.append(f"{path.name}: larger than 64 KiB, ignored")
                continue
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path.name}: {exc}")
            continue
        key = path.stem
        base = found.get(key)
        name, audience = (base.name, base.audience) if base else (key, "internal")
        first, _, rest = source.partition("\n")
        if first.startswith("# name:"):
            title, _, aud = first.removeprefix("# name:").partition("|")
            name, audience, source = title.strip() or name, aud.strip() or audience, rest
        found[key] = Template(key, name, audience, source)
    return list(found.values()), problems
