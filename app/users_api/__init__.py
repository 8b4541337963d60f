"""The users API: list and create users, avatars in S3, users in DynamoDB.

``create_app()`` is the application factory (``factory.py``). The platform
adapters are ``users_api.wsgi:app`` (gunicorn, containers) and
``users_api.lambda_handler.handler`` (AWS Lambda through apig-wsgi). The app
reads its configuration from environment variables only and knows nothing of
where it runs.

Importing this package imports nothing else: gunicorn loads its settings from
``users_api.gunicorn_conf`` in the master process, and botocore (with urllib3's
TLS context) must not be imported there before the gevent worker patches ``ssl``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import ConfigError, Settings
    from .factory import create_app

__all__ = ["ConfigError", "Settings", "create_app"]


def __getattr__(name: str) -> Any:
    """``create_app``, ``Settings`` and ``ConfigError``, imported on first use (PEP 562)."""
    if name == "create_app":
        from .factory import create_app

        return create_app
    if name in {"Settings", "ConfigError"}:
        from . import config

        return getattr(config, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
