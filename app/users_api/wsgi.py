"""The container adapter: ``gunicorn users_api.wsgi:app``."""

from __future__ import annotations

import sys

from . import ConfigError, create_app

try:
    app = create_app()
except ConfigError as exc:
    print(f"users_api: configuration error: {exc}", file=sys.stderr)
    raise SystemExit(2) from None
