"""The backend registry: a name -> a BackendPlugin, imported only when chosen.

Built-in backends are this package's sub-packages (``backends/<name>/``: every sub-package is a backend), each
exposing ``plugin``; they are found by listing the folder, so this module names none of them. importlib imports
them by name (a folder may be named after a Python keyword, which no import statement can name). Third-party
backends plug in through the entry-point group ``flask_platform.backends``, whose entry point names their
``BackendPlugin`` (see ARCHITECTURE.md, "The plugin API"). A built-in's name wins over an entry point of the same name.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from importlib.metadata import entry_points
from pathlib import Path

import pulumi

from .base import BackendPlugin
from .settings import current_hints

ENTRY_POINT_GROUP = "flask_platform.backends"
# A backend's name is its config object's key, set as `pulumi config set --path <name>.<key>`, and its entry point's
# name. Pulumi's property path grammar (pulumi/pulumi sdk/go/common/resource/properties_path.go, ParsePropertyPath)
# names a property `[a-zA-Z_$][a-zA-Z0-9_$]*`: a dot or bracket starts a path, and a dash is outside the grammar
# (the parser accepts it only by being lenient). Lower-case, so the type token's <Name> is the name in CamelCase.
BACKEND_NAME = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
BACKEND_NAME_RULE = "lower-case letters and digits, starting with a letter, words joined by single underscores"
_HERE = Path(__file__).resolve().parent


class UnknownBackend(pulumi.RunError):
    """The chosen backend does not exist; the message lists the known ones and the command to set one."""


class NotABackend(pulumi.RunError):
    """A package registered as a backend does not provide a BackendPlugin, or registers it under an invalid name."""


def builtin_backends() -> list[str]:
    """The sub-packages of ``backends/``, by folder name: each is a built-in backend (not imported here)."""
    return sorted(module.name for module in pkgutil.iter_modules([str(_HERE)]) if module.ispkg)


def known_backends() -> list[str]:
    return sorted({*builtin_backends(), *(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))})


def load_plugin(name: str | None) -> BackendPlugin:
    """The plugin called ``name``; fails before any resource exists when the name is wrong."""
    known = ", ".join(known_backends())
    how = "with `pulumi config set backend <name>`" if current_hints().source == "config" else "as the backend argument"
    if not name:
        raise UnknownBackend(f"no backend is set: choose one of {known} {how}")
    if name in builtin_backends():
        found: object = getattr(importlib.import_module(f"{__name__}.{name}"), "plugin", None)
    else:
        matching = [entry_point for entry_point in entry_points(group=ENTRY_POINT_GROUP) if entry_point.name == name]
        if not matching:
            raise UnknownBackend(
                f"unknown backend {name!r}: choose one of {known} {how} "
                "(a backend of another package is listed once that package is installed in this project's .venv)"
            )
        if not BACKEND_NAME.match(name):
            raise NotABackend(
                f"backend {name!r} is registered under an invalid name: a backend's name is {BACKEND_NAME_RULE} "
                f"(it is the config key `flask-platform:<name>` and the entry point's name): rename the entry point "
                f"in the group {ENTRY_POINT_GROUP} of its package's pyproject.toml, and its BackendPlugin's name"
            )
        found = matching[0].load()
    if not isinstance(found, BackendPlugin) or found.name != name:
        raise NotABackend(
            f"backend {name!r} does not provide a BackendPlugin named {name!r} (got {type(found).__name__}); "
            "see ARCHITECTURE.md, 'The plugin API'"
        )
    return found
