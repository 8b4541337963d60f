"""The core names no backend: adding or removing a backend package changes no file of the core, only the backend's
own folder (built in: backends/<name>/; third party: its own package, like plugins/fargate)."""

from __future__ import annotations

import ast
import io
import keyword
import re
import tokenize
from pathlib import Path

import pytest

from backends import builtin_backends, load_plugin

ROOT = Path(__file__).resolve().parents[2]
CORE = sorted(
    [*(ROOT / "backends").glob("*.py"), ROOT / "__main__.py", ROOT / "provider" / "__main__.py"],
    key=lambda path: path.as_posix(),
)
BACKEND_NAMES = sorted({*builtin_backends(), "fargate"})


def mentions(path: Path, name: str) -> list[str]:
    """Where ``name`` appears in the file as a word: in code, strings, docstrings or comments (Python's ``lambda``
    keyword aside)."""
    found = []
    for token in tokenize.generate_tokens(io.StringIO(path.read_text()).readline):
        if token.type == tokenize.NAME and keyword.iskeyword(token.string):
            continue
        if re.search(rf"(?<![A-Za-z]){re.escape(name)}(?![a-z])", token.string, flags=re.IGNORECASE):
            found.append(f"{path.name}:{token.start[0]}: {token.string.strip()[:80]}")
    return found


@pytest.mark.parametrize("name", BACKEND_NAMES)
def test_no_core_file_names_a_backend(name: str) -> None:
    assert [line for path in CORE for line in mentions(path, name)] == []


def test_the_check_finds_a_name_where_there_is_one(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('"""Deploys to EKS."""\nSQUARE = lambda x: x * x  # minikube\nfargate_port = 1\n')

    assert [len(mentions(sample, name)) for name in ("eks", "lambda", "minikube", "fargate")] == [1, 0, 1, 1]


def test_every_folder_of_backends_is_a_built_in_with_a_plugin() -> None:
    folders = sorted(path.parent.name for path in (ROOT / "backends").glob("*/__init__.py"))

    assert builtin_backends() == folders
    for name in folders:
        assert load_plugin(name).name == name


def platform_imports(path: Path) -> set[str]:
    """The ``backends`` modules a file imports (absolute imports; relative ones stay in its own package)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {module for module in found if module == "backends" or module.startswith("backends.")}


BACKEND_FOLDERS = [ROOT / "backends" / name for name in builtin_backends()] + [ROOT / "plugins" / "fargate"]


@pytest.mark.parametrize("folder", BACKEND_FOLDERS, ids=lambda folder: folder.name)
def test_a_backend_uses_only_the_plugin_api_and_its_own_modules(folder: Path) -> None:
    own = f"backends.{folder.name}"
    sources = [
        path
        for path in folder.rglob("*.py")
        if not any(part.endswith("tests") for part in path.relative_to(folder).parts)
    ]
    imported = {module for path in sources for module in platform_imports(path)}

    assert sources
    assert {module for module in imported if module != own and not module.startswith(f"{own}.")} <= {"backends.plugin"}
