"""The plugin API is documented whole: a third party writes a backend from ARCHITECTURE.md alone."""

from __future__ import annotations

import pytest

import backends.plugin
from backends.base import REPO_ROOT


def plugin_api_section() -> str:
    text = (REPO_ROOT / "ARCHITECTURE.md").read_text()
    start = text.index("## The plugin API")
    return text[start : text.index("\n## ", start + 1)]


@pytest.mark.parametrize("name", backends.plugin.__all__)
def test_every_export_of_the_plugin_api_is_documented(name: str) -> None:
    assert f"`{name}" in plugin_api_section(), f"{name} is exported by backends.plugin but not documented"


def test_only_what_a_backend_may_use_is_exported() -> None:
    assert "current_hints" not in backends.plugin.__all__  # the core's phrasing: backends raise SettingProblem
