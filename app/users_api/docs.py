"""Interactive API docs at /docs/: Swagger UI from files shipped inside a Python package, no CDN.

The assets come from the ``flask-swagger-ui`` distribution's ``dist`` folder,
located on the first docs request without importing the package, so the
docs cost nothing on a cold start.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, send_from_directory

docs = Blueprint("docs", __name__, url_prefix="/docs")

# Every URL is relative to /docs/, so the page also works under a path prefix.
PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Users API</title>
  <link rel="stylesheet" href="swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="swagger-ui-bundle.js"></script>
  <script src="swagger-ui-standalone-preset.js"></script>
  <script>
    window.onload = () => {
      window.ui = SwaggerUIBundle({
        url: "../openapi.json",
        dom_id: "#swagger-ui",
        deepLinking: true,
        presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
        layout: "StandaloneLayout",
      });
    };
  </script>
</body>
</html>
"""


@cache
def assets_dir() -> Path:
    spec = importlib.util.find_spec("flask_swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the flask-swagger-ui package (Swagger UI's files) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "dist"


# No framing by other sites (clickjacking), no plugins, no base-URI or form hijacking.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:;"
    " frame-ancestors 'none'; object-src 'none'; base-uri 'self'; form-action 'self'"
)
# Any other file served here (Swagger UI's oauth2-redirect.html included) runs no inline script of ours.
ASSET_POLICY = "default-src 'self'; script-src 'self' 'unsafe-inline'; frame-ancestors 'none'; object-src 'none'"


@docs.get("/")
def page() -> Response:
    response = Response(PAGE, mimetype="text/html")
    response.headers["Content-Security-Policy"] = PAGE_POLICY
    return response


@docs.get("/<path:filename>")
def asset(filename: str) -> Response:
    response = send_from_directory(assets_dir(), filename, max_age=3600)
    if response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = ASSET_POLICY
    return response
