"""`make clean` leaves the checkout as git made it: nothing .gitignore lists is left, nothing tracked is touched.

It runs for real, in a clone of this repository (with this working tree's
Makefile and .gitignore), never in the checkout the tests run from.
"""

from __future__ import annotations

import fnmatch
import shutil
import subprocess
from pathlib import Path

import pytest

from devtools.processes import REPO_ROOT
from tests.integration.make import make, user_environment

pytestmark = pytest.mark.integration

GIT = shutil.which("git") or "git"

# What building, testing and running leave behind, one of each kind .gitignore lists.
LEFT_BEHIND = [
    ".venv/bin/python",
    ".venv-checkov/bin/python",
    "users_api.egg-info/PKG-INFO",  # an editable install run from the root
    "app/users_api.egg-info/PKG-INFO",  # `pip install -e app`
    "app/build/lib/users_api/__init__.py",  # a non-editable `pip install app`
    "build/lib/x.py",
    "dist/users_api-0.1.0-py3-none-any.whl",
    "app/users_api/__pycache__/config.cpython-311.pyc",
    ".local/app.log",
    ".bench/results.json",
    ".build/lambda/users-api-python3.12-arm64.zip",
    "results/smoke-20260101T000000Z/verdict.json",
    ".pytest_cache/README.md",
    ".mypy_cache/CACHEDIR.TAG",
    ".ruff_cache/CACHEDIR.TAG",
]


def git(clone: Path, *arguments: str) -> str:
    return subprocess.run(
        [GIT, "-C", str(clone), *arguments], capture_output=True, text=True, check=True, timeout=60
    ).stdout


def status(clone: Path) -> list[str]:
    """``git status`` in the clone, ignored files included (``!! path``; a folder ends in /)."""
    return git(clone, "status", "--ignored", "--porcelain").splitlines()


def ignored(clone: Path) -> list[str]:
    return [line.removeprefix("!! ") for line in status(clone) if line.startswith("!! ")]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clean") / "flask-platform"
    subprocess.run([GIT, "clone", "--quiet", str(REPO_ROOT), str(folder)], check=True, timeout=120)
    for name in ("Makefile", ".gitignore"):  # what this working tree says, committed or not
        shutil.copy2(REPO_ROOT / name, folder / name)
    return folder


@pytest.fixture
def clone(pristine: Path) -> Path:
    """The clone, as git made it (whatever an earlier case left is swept away first, by git itself)."""
    git(pristine, "clean", "-ffdXq")
    return pristine


@pytest.mark.parametrize("artifact", LEFT_BEHIND)
def test_make_clean_removes_what_the_build_left_and_nothing_else(clone: Path, artifact: str) -> None:
    before = status(clone)
    path = clone / artifact
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("left behind\n")
    assert any(artifact.startswith(folder) for folder in ignored(clone)), "git ignores it"
    env = {key: value for key, value in user_environment().items() if key not in {"VENV", "CHECKOV_VENV"}}

    result = make("clean", directory=clone, env=env)

    assert result.returncode == 0, result.stderr
    assert not path.exists()
    assert ignored(clone) == []
    assert status(clone) == before, "nothing tracked was touched"


def test_every_kind_of_folder_gitignore_lists_is_among_the_cases() -> None:
    """Folders are what building, testing and running leave; an ignored file (a download) is the user's to keep."""
    patterns = [line.strip() for line in (REPO_ROOT / ".gitignore").read_text().splitlines()]
    folders = {folder for artifact in LEFT_BEHIND for folder in artifact.split("/")[:-1]}

    uncovered = [
        pattern for pattern in patterns if pattern.endswith("/") and not fnmatch.filter(folders, pattern.strip("/"))
    ]

    assert uncovered == [], "add an example of each to LEFT_BEHIND, and teach make clean to remove it"
