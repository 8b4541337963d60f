"""The backend registry: a name -> a backend factory, imported only when chosen.

Built-in backends are modules of this package, imported by name with
importlib (``backends.lambda`` cannot be written as an import statement:
``lambda`` is a keyword). Third-party backends plug in through the entry-point
group ``flask_platform.backends``; the entry point names a factory taking
``(name, spec, opts)`` (see backends/base.py).
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import cast

import pulumi

from .base import BackendFactory

ENTRY_POINT_GROUP = "flask_platform.backends"
# name -> module holding a ``Backend`` factory
BUILTIN: dict[str, str] = {"eks": "backends.eks", "lambda": "backends.lambda", "minikube": "backends.minikube"}


class UnknownBackend(pulumi.RunError):
    """The chosen backend does not exist; the message lists the known ones and the command to set one."""


def known_backends() -> list[str]:
    return sorted({*BUILTIN, *(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))})


def load_backend(name: str | None) -> BackendFactory:
    """The factory for ``name``; fails before any resource exists when the name is wrong."""
    known = ", ".join(known_backends())
    if not name:
        raise UnknownBackend(f"no backend is set: choose one of {known} with `pulumi config set backend lambda`")
    if name in BUILTIN:
        return cast(BackendFactory, importlib.import_module(BUILTIN[name]).Backend)
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name == name:
            return cast(BackendFactory, entry_point.load())
    raise UnknownBackend(f"unknown backend {name!r}: choose one of {known} with `pulumi config set backend <name>`")
