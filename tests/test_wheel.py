"""The package as users get it: a wheel carries its data, installs, and works on its own.

``pip wheel`` builds from a copy of the sources (a checkout's ``build/`` is never
touched), the wheel is installed into a fresh venv, and a script run from outside the
checkout proves the installed copy reads its naming table (a known ISP domain resolves to
its name) and its icons. The fresh venv sees this environment's dependencies through a
``.pth`` line (offline, nothing downloaded; the editable install of the checkout is not
activated that way, and the script asserts it imported the installed copy).

The build backend: when this venv's setuptools satisfies pyproject's ``[build-system]
requires``, the wheel is built with ``--no-build-isolation`` (offline); otherwise pip's
isolated build fetches it from the package index, and the wheel tests skip (saying why)
when that index cannot be reached.
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PLAYER = ROOT / "player"
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)
BUILD_TIMEOUT_S = 300  # an isolated build may first fetch setuptools from the index
RUN_TIMEOUT_S = 120

# The installed copy, run from a directory outside the checkout. The namer is looked up
# through the public API (player.net.path; the pre-refactor module as a fallback).
CHECK_SCRIPT = r"""
import json, os, sys
from pathlib import Path
import player
from player import data
from player.net.path import build_namer
from PyQt6.QtWidgets import QApplication
from player.ui.main_window import window_icon

app = QApplication(["wheel-check"])
icon = window_icon()
namer = build_namer()
print(json.dumps({
    "player_file": str(Path(player.__file__).resolve()),
    "isp": namer.org_for("ae1.bras1.verizon-gni.net", "203.0.113.9"),
    "table_domains": len(namer.table.domains()),
    "icon_sizes": sorted(s.width() for s in icon.availableSizes()),
    "png_bytes": {str(s): len(data.read_bytes(data.icon_name(s))) for s in data.ICON_SIZES},
}))
"""


def _copy_sources(dest: Path) -> Path:
    src = dest / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(PLAYER, src / "player", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return src


def _pip(*args: str, timeout: float = BUILD_TIMEOUT_S) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pip", *args], capture_output=True, text=True, timeout=timeout
    )


def local_build_backend() -> tuple[bool, str]:
    """Whether this venv's setuptools satisfies pyproject's ``[build-system] requires``.

    Returns (usable, why): with a usable backend the wheel is built with
    ``--no-build-isolation`` (offline: nothing is fetched from the package index).
    """
    build = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["build-system"]
    reqs = [Requirement(r) for r in build["requires"]]
    for req in reqs:
        if importlib.util.find_spec(req.name) is None:
            return False, f"{req.name} is not importable in this venv"
        try:
            have = importlib.metadata.version(req.name)
        except importlib.metadata.PackageNotFoundError:
            return False, f"{req.name} is importable but has no distribution metadata"
        if not req.specifier.contains(have, prereleases=True):
            return False, f"this venv has {req.name} {have}, pyproject requires {req}"
    return True, "this venv's " + ", ".join(str(r) for r in reqs)


#: pip's words ("... when installing build dependencies", "pip subprocess to install build
#: dependencies did not run successfully") when the isolated build could not get its backend
BUILD_DEPS_FAILED = "build dependencies"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    src = _copy_sources(tmp)
    out = tmp / "dist"
    usable, why = local_build_backend()
    if usable:  # offline and deterministic: build with the backend this venv has
        r = _pip("wheel", str(src), "--no-deps", "--no-build-isolation", "-w", str(out))
    else:  # an isolated build fetches the backend from the package index
        r = _pip("wheel", str(src), "--no-deps", "-w", str(out))
        if r.returncode != 0 and BUILD_DEPS_FAILED in (r.stdout + r.stderr).lower():
            last = (r.stderr.strip() or r.stdout.strip()).splitlines()[-1:]
            pytest.skip(
                f"cannot build the wheel here: {why}, and the isolated build could not "
                f"install its build dependencies from the package index ({' '.join(last)})"
            )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    wheels = list(out.glob("stallwatch-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_the_local_backend_must_satisfy_the_build_requirement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    req = Requirement(requires["build-system"]["requires"][0])
    assert req.name == "setuptools"
    real = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "1.0")
    usable, why = local_build_backend()
    assert not usable and "setuptools 1.0" in why and str(req) in why
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "999.0")
    assert local_build_backend()[0]
    monkeypatch.setattr(importlib.metadata, "version", real)
    assert local_build_backend()[0] is req.specifier.contains(real("setuptools"))


def test_wheel_carries_the_naming_table_and_icons(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "player/data/isp_names.json" in names
    assert "player/data/icon.svg" in names
    for size in ICON_SIZES:
        assert f"player/data/icons/stallwatch-{size}.png" in names
    table = json.loads(zipfile.ZipFile(wheel).read("player/data/isp_names.json"))
    assert table["entries"], "the naming table in the wheel is empty"


def test_wheel_carries_every_module(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    sources = {p.relative_to(ROOT).as_posix() for p in PLAYER.rglob("*.py")}
    missing = sorted(sources - names)
    assert not missing, f"not in the wheel (a package without __init__.py?): {missing}"
    assert not [n for n in names if n.startswith("tests/")], (
        "the test-suite is not part of the wheel"
    )


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed (no pip inside; the outer pip installs)."""
    pytest.importorskip("venv")
    env = tmp_path_factory.mktemp("venv") / "env"
    r = subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(env)],
        capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
    )  # fmt: skip
    if r.returncode != 0:
        pytest.skip(f"cannot create a venv here: {r.stderr.strip()[-500:]}")
    python = env / "bin" / "python"
    site = Path(
        subprocess.check_output(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], text=True
        ).strip()
    )
    # This environment's dependencies, appended after the venv's own site-packages.
    (site / "outer-deps.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    r = _pip("--python", str(python), "install", "--no-deps", "--no-index", str(wheel))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return env


def _run_installed(env: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    clean["QT_QPA_PLATFORM"] = "offscreen"
    return subprocess.run(
        list(args), cwd=cwd, env=clean, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
    )


def test_installed_wheel_names_an_isp_and_loads_its_icons(installed: Path, tmp_path: Path) -> None:
    r = _run_installed(
        installed, str(installed / "bin" / "python"), "-c", CHECK_SCRIPT, cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr[-3000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert Path(got["player_file"]).is_relative_to(installed.resolve()), got["player_file"]
    assert got["isp"] == "Verizon"
    assert got["table_domains"] > 50
    assert got["icon_sizes"] == list(ICON_SIZES)
    assert all(n > 100 for n in got["png_bytes"].values()), got["png_bytes"]


def test_installed_console_script_runs(installed: Path, tmp_path: Path) -> None:
    r = _run_installed(installed, str(installed / "bin" / "stallwatch"), "--version", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.startswith("stallwatch ")


# --- declared dependencies ------------------------------------------------------------------
def _third_party_imports() -> set[str]:
    roots: set[str] = set()
    for path in PLAYER.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                roots |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                roots.add(node.module.split(".")[0])
    return {r for r in roots if r not in sys.stdlib_module_names and r != "player"}


def test_every_direct_import_is_a_declared_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {
        re.split(r"[<>=!~;\[ ]", d, maxsplit=1)[0].lower().replace("_", "-")
        for d in project["dependencies"]
    }
    providers = importlib.metadata.packages_distributions()
    imports = _third_party_imports()
    assert {"PyQt6", "vlc", "requests", "urllib3"} <= imports  # the scan works
    undeclared = {}
    for name in sorted(imports):
        dists = {d.lower().replace("_", "-") for d in providers.get(name, [])}
        if not dists & declared:
            undeclared[name] = sorted(dists) or ["(not installed)"]
    assert not undeclared, f"imported by player/ but not in pyproject dependencies: {undeclared}"
