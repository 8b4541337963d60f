"""``create_app()``, the application factory: settings -> clients -> store -> blueprints, hooks, error handlers."""

from __future__ import annotations

from importlib import resources

import botocore.session
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import public_url
from .aws import AwsClients, make_clients
from .config import Settings
from .docs import docs
from .errors import register_error_handlers
from .observability import configure_logging, install_request_hooks
from .readiness import Readiness
from .routes import EXTENSION_KEY, api
from .store import UserStore

# Multipart overhead allowed on top of the avatar itself (boundaries, part headers, name, email).
FORM_OVERHEAD_BYTES = 64 * 1024
# More parts than this is not a sign-up form: Werkzeug stops parsing (413 too_many_parts).
MAX_FORM_PARTS = 16
# The most one form part's text or headers may hold in memory while Werkzeug parses (413 part_too_large).
# Werkzeug 3.1 also applies it to its multipart decoder's buffer: the held-back tail of a file part (at
# most a boundary's length) plus the next 64 KiB read. At 64 KiB that refused photos depending on their
# bytes; four times the read size no file part can reach, while part headers stay bounded (unbounded, a
# 2 MB body of empty header lines cost 150 MB to parse).
FORM_PART_MEMORY_BYTES = 256 * 1024


def create_app(settings: Settings | None = None, clients: AwsClients | None = None) -> Flask:
    """Build the app. ``settings`` default to the environment; raises ConfigError naming a bad variable."""
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level)
    session = botocore.session.get_session()
    clients = clients or make_clients(settings, session=session)

    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]  # fields keep their documented order
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_avatar_bytes + FORM_OVERHEAD_BYTES,
        # Text fields get the app's own, smaller limit (routes.TEXT_FIELD_MAX_BYTES), checked after
        # parsing so that the 413 names the field; this one bounds what parsing itself may hold.
        MAX_FORM_MEMORY_SIZE=FORM_PART_MEMORY_BYTES,
        MAX_FORM_PARTS=MAX_FORM_PARTS,
    )
    app.extensions[EXTENSION_KEY] = {
        "store": UserStore(clients, settings.table_name, settings.bucket_name),
        "readiness": Readiness(
            lambda: make_clients(settings, probing=True, session=session),
            settings.table_name,
            settings.bucket_name,
        ),
        "max_avatar_bytes": settings.max_avatar_bytes,
        "avatar_url_ttl_seconds": settings.avatar_url_ttl_seconds,
        "request_deadline_seconds": settings.request_deadline_seconds,
        "openapi": resources.files(__package__).joinpath("openapi.json").read_bytes(),
    }
    app.register_blueprint(api)
    app.register_blueprint(docs)
    register_error_handlers(app, settings.max_avatar_bytes)
    install_request_hooks(app)
    public_url.install(app, settings.public_url)
    if settings.auth is not None:
        from .auth import install_auth  # PyJWT and cryptography (100+ ms to import) load only when auth is on

        install_auth(app, settings.auth)
    if settings.trusted_proxies:
        # Scheme, port and client address only: ALB and API Gateway pass a client's X-Forwarded-Host and
        # X-Forwarded-Prefix through unchanged, so trusting those would let clients forge our URLs.
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_port=n, x_host=0, x_prefix=0)  # type: ignore[method-assign]
    return app
