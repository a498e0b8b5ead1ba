"""Packaging and borders: every package folder is installed; libraries stay free of the server
and UI frameworks; the terminal client never imports the server."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PACKAGE_DIRS = PYPROJECT["tool"]["setuptools"]["package-dir"]
FOLDERS = {"server": "shortstack.server", "media": "shortstack.media",
           "recommender": "shortstack.recommender", "tui": "shortstack.tui"}  # fmt: skip


def _package_name(init: Path) -> str:
    rel = init.parent.relative_to(ROOT)
    top, *rest = rel.parts
    return ".".join([FOLDERS[top], *rest])


def _imports(path: Path, package: str) -> set[str]:
    """Absolute names of every module imported by a source file (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _sources(folder: str) -> list[tuple[Path, str]]:
    out = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        out.append((path, _package_name(path.parent / "__init__.py")))
    return out


def test_package_dirs_map_the_four_folders():
    for folder, package in FOLDERS.items():
        assert PACKAGE_DIRS[package] == folder


def test_every_package_folder_is_listed():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {
        _package_name(init) for folder in FOLDERS for init in (ROOT / folder).rglob("__init__.py")
    }
    assert found, "no packages found"
    missing = sorted(found - listed)
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {missing}"
    assert "shortstack" in listed


def test_every_listed_package_exists():
    for package in PYPROJECT["tool"]["setuptools"]["packages"]:
        parts = package.split(".")
        if package == "shortstack":
            folder = ROOT / "shortstack"
        else:
            folder = ROOT / PACKAGE_DIRS[".".join(parts[:2])] / Path(*parts[2:])
        assert (folder / "__init__.py").is_file(), package


def test_python_packages_have_no_stray_modules_outside_packages():
    """A .py file in a folder without __init__.py would be left out of the wheel."""
    for folder in FOLDERS:
        for path in (ROOT / folder).rglob("*.py"):
            assert (path.parent / "__init__.py").is_file(), f"{path} is not inside a package"


# The layering (media and recommender never import the server or the client, store/ imports
# nothing above it, no cycles) is import-linter's job: [tool.importlinter] in pyproject.toml,
# run by .ci/lint-imports.


def test_tui_reaches_the_server_through_one_client_module():
    users = [
        str(path.relative_to(ROOT))
        for path, package in _sources("tui")
        if any(n == "httpx" or n.startswith("httpx.") for n in _imports(path, package))
    ]
    assert users == ["tui/api.py"]


def test_modules_open_with_a_docstring():
    for folder in (*FOLDERS, "shortstack"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "__init__.py" and not path.read_text().strip():
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            assert ast.get_docstring(tree), f"{path.relative_to(ROOT)} has no module docstring"


def test_build_contains_every_package_and_data(tmp_path):
    """What `pip install .` would install: setuptools' build_py on a copy of the sources."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "config.toml"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, src / name)
    for folder in (*FOLDERS, "shortstack"):
        shutil.copytree(
            ROOT / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    out = tmp_path / "lib"
    subprocess.run(
        [sys.executable, "-c", "from setuptools import setup; setup()", "-q", "build_py", "-d", str(out)],
        cwd=src,
        check=True,
        capture_output=True,
        timeout=300,
    )  # fmt: skip
    built = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    for package in PYPROJECT["tool"]["setuptools"]["packages"]:
        assert f"{package.replace('.', '/')}/__init__.py" in built, package
    assert "shortstack/server/app.py" in built
    assert "shortstack/server/store/migrations.py" in built
    assert any(n.startswith("shortstack/tui/") and n.endswith(".tcss") for n in built)
    for folder in FOLDERS:  # every module of every package made it
        for path in (ROOT / folder).rglob("*.py"):
            rel = path.relative_to(ROOT / folder)
            assert f"{FOLDERS[folder].replace('.', '/')}/{rel}" in built, rel
