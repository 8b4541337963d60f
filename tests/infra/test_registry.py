"""The backend registry: built-ins by name, third parties by entry point, clear errors otherwise."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

import backends
from backends import ENTRY_POINT_GROUP, UnknownBackend, known_backends, load_backend


@pytest.mark.parametrize("name", ["eks", "lambda", "minikube"])
def test_each_built_in_backend_loads_by_name(name: str) -> None:
    factory = load_backend(name)  # `backends.lambda` cannot be imported with an import statement: a keyword

    assert factory.__module__ == f"backends.{name}"
    assert getattr(factory, "__name__", None) == "Backend"


@pytest.mark.parametrize(
    ("name", "says"),
    [
        pytest.param(None, "no backend is set", id="missing"),
        pytest.param("", "no backend is set", id="empty"),
        pytest.param("heroku", "unknown backend 'heroku'", id="unknown"),
    ],
)
def test_a_wrong_backend_fails_with_the_known_names_and_the_command(name: str | None, says: str) -> None:
    with pytest.raises(UnknownBackend) as failure:
        load_backend(name)

    message = str(failure.value)
    assert says in message
    assert "lambda" in message
    assert "pulumi config set backend" in message


@pytest.fixture
def third_party_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A small installed distribution whose entry point registers a backend called `acme`."""
    (tmp_path / "acme_backend.py").write_text("def Backend(name, spec, opts=None):\n    return ('acme', name)\n")
    dist_info = tmp_path / "acme_backend-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-backend\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nacme = acme_backend:Backend\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "acme_backend", raising=False)
    return "acme"


def test_a_third_party_backend_plugs_in_through_the_entry_point_group(third_party_backend: str) -> None:
    assert third_party_backend in known_backends()

    factory = load_backend(third_party_backend)

    made: Any = factory("users-api", None)  # type: ignore[arg-type]
    assert made == ("acme", "users-api")


def test_built_in_names_take_precedence_and_are_listed() -> None:
    assert "lambda" in known_backends()
    assert set(backends.BUILTIN) <= set(known_backends())
