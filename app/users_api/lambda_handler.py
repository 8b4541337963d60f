"""The AWS Lambda adapter: API Gateway (HTTP API 2.0 or REST 1.0) events through apig-wsgi.

The app is built once per execution environment, at INIT, and reused by every
invocation. ``binary_support`` lets multipart uploads arrive base64-encoded.
"""

from __future__ import annotations

from apig_wsgi import make_lambda_handler

from . import ConfigError, create_app

try:
    app = create_app()
except ConfigError as exc:
    # One clear line in the function's log instead of a traceback through the factory.
    raise RuntimeError(f"users_api: configuration error: {exc}") from None

handler = make_lambda_handler(app, binary_support=True)
