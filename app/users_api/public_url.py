"""The API's own absolute URLs come from configuration, never from the request's ``Host``.

``PUBLIC_URL`` (e.g. ``https://api.example.com``; the backends set it from their ``url`` when they know it) is
the base of every URL the API writes: ``avatar_url``, ``Location``, the ``Link`` cursor and Werkzeug's own
redirects (``/docs`` -> ``/docs/``). Without it they are relative to the server's root (``/users/...``), which
RFC 9110 allows in ``Location`` and RFC 8288 in ``Link``, and which a client resolves against the URL it used.
Either way a forged ``Host`` (or a ``X-Forwarded-Host`` nobody trusts) never reaches a client.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request

EXTENSION_KEY = "users_api.public_root"


class PublicUrlError(ValueError):
    """PUBLIC_URL is not an absolute http(s) base URL."""


def parse_public_url(raw: str) -> str | None:
    """The normalised base URL (no trailing slash), or None when unset."""
    value = raw.strip()
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise PublicUrlError(f"PUBLIC_URL={raw!r} is not an absolute http(s) URL: set e.g. https://api.example.com")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise PublicUrlError(
            f"PUBLIC_URL={raw!r} has a query, a fragment or credentials: set only scheme, host, port and path"
        )
    return value.rstrip("/")


def install(app: Flask, public_url: str | None) -> None:
    app.extensions[EXTENSION_KEY] = f"{public_url}/" if public_url else None
    app.after_request(_own_redirects_to_the_public_root)


def api_root() -> str:
    """The base of the API's URLs, ending in ``/``: PUBLIC_URL's, else the server's root as a relative path."""
    root: str | None = current_app.extensions[EXTENSION_KEY]
    return root if root is not None else f"{request.script_root}/"


def _own_redirects_to_the_public_root(response: Response) -> Response:
    """Werkzeug builds its routing redirects (308 to the slashed path) from the request's host: rebase them."""
    location = response.headers.get("Location")
    if location and location.startswith(request.host_url):
        response.headers["Location"] = api_root() + location.removeprefix(request.host_url)
    return response
