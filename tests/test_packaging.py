"""`pip install .` gives a working command with its styles inside the package."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.mark.slow
def test_wheel_ships_styles_and_runs(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        timeout=300,
    )
    [wheel] = tmp_path.glob("warroom-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    styles = sorted(ROOT.glob("styles/*.tcss"))
    for style in styles:
        assert f"warroom/styles/{style.name}" in names
    assert "warroom/cli/__init__.py" in names
    assert "warroom/delivery/schemas/webhook-v1.json" in names  # receivers validate against it

    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        timeout=300,
    )
    env = {**os.environ, "PYTHONPATH": str(target), "WARROOM_DB": str(tmp_path / "x.db")}
    probe = (
        "import warroom, pathlib; from warroom.resources import styles_dir;"
        "print(warroom.__file__); print(styles_dir())"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    module_file, styles_path = out.stdout.split()
    assert module_file.startswith(str(target))
    assert styles_path.startswith(str(target))
    r = subprocess.run(
        [sys.executable, "-m", "warroom", "declare", "pkg test", "-s", "SEV3"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
