"""The architecture's import boundaries (ARCHITECTURE.md), checked on the source itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(folder: Path) -> dict[str, set[str]]:
    """file -> the top-level names of every absolute module it imports."""
    found: dict[str, set[str]] = {}
    for path in sorted(folder.rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
            elif (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                names.add(str(node.args[0].value))
        found[str(path.relative_to(ROOT))] = names
    return found


def offenders(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path} imports {name}"
        for path, names in imported_modules(ROOT / folder).items()
        for name in sorted(names)
        if name.split(".")[0] in forbidden or name in forbidden
    ]


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [
        pytest.param("app/users_api", ("pulumi", "pulumi_aws", "backends", "devtools", "loadtests"), id="app"),
        pytest.param("loadtests", ("users_api", "backends", "pulumi", "pulumi_aws"), id="loadtests"),
        pytest.param("backends", ("users_api", "devtools", "loadtests"), id="platform"),
        pytest.param("devtools", ("pulumi", "pulumi_aws"), id="devtools"),
    ],
)
def test_a_layer_never_imports_what_it_must_not_know(folder: str, forbidden: tuple[str, ...]) -> None:
    assert offenders(folder, forbidden) == []


def test_backends_never_import_each_other() -> None:
    backends = [path.name for path in (ROOT / "backends").iterdir() if (path / "__init__.py").exists()]
    for backend in backends:
        others = tuple(f"backends.{other}" for other in backends if other != backend)
        assert offenders(f"backends/{backend}", others) == []


def test_the_checker_sees_a_forbidden_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bad").mkdir()
    leak = "import importlib\nimport pulumi\nimportlib.import_module('backends.x')\n"
    (tmp_path / "bad" / "leak.py").write_text(leak)
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)

    assert offenders("bad", ("pulumi", "backends")) == ["bad/leak.py imports backends.x", "bad/leak.py imports pulumi"]
