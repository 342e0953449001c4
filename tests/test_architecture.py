"""The layering rules of ARCHITECTURE.md, enforced."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import warroom

CORE = Path(warroom.__file__).parent / "core"
FORBIDDEN = {
    "textual",
    "rich",
    "httpx",
    "kubernetes",
    "sqlite3",
    "sqlite_utils",
    "uvicorn",
    "starlette",
    "fastapi",
    "psycopg",
    "socket",
    "subprocess",
    "requests",
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
            if node.module.startswith("warroom.") and node.module.split(".")[1] != "core":
                names.add(node.module)
    return names


def test_core_imports_no_io_ui_or_network_library_even_lazily():
    offenders = {}
    for path in CORE.rglob("*.py"):
        bad = {m for m in imported_modules(path) if m in FORBIDDEN or m.startswith("warroom.")}
        if bad:
            offenders[str(path.relative_to(CORE))] = sorted(bad)
    assert offenders == {}


def test_import_linter_contracts_hold():
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe, "import-linter is a dev dependency"
    root = Path(__file__).parents[1]
    result = subprocess.run([exe], cwd=root, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "broken" not in result.stdout.lower().split("contracts:")[-1].replace("0 broken", "")


def test_console_start_up_loads_no_validation_or_cluster_libraries():
    """pydantic, pydantic-settings, python-ulid (importlib.metadata) and the Kubernetes
    client cost ~250 ms of imports; the console draws its first frame without them."""
    code = (
        "import sys\n"
        "from warroom.config import load_settings\n"
        "from warroom.store import EventLog\n"
        "from warroom.tui.app import WarroomApp\n"
        "from warroom.cli.console import open_console\n"
        "import warroom.cli.app\n"
        "load_settings()\n"
        "heavy = ('pydantic', 'pydantic_settings', 'ulid', 'kubernetes', 'httpx', 'jinja2')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "WARROOM_CONFIG": "/nonexistent/c"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_environment_settings_match_the_schema():
    from warroom.config import FIELDS
    from warroom.config_schema import SettingsSchema

    assert set(FIELDS) == set(SettingsSchema.model_fields)
