"""The Pulumi package schema of FlaskPlatform: what Pulumi's own analyzer infers, offline, plus one documented type
per built-in backend's settings (``<Name>BackendConfig``), the keys its ``backend_config`` map takes.

The analyzer knows only FlaskPlatform's annotations, where ``backend_config`` is an open map (a backend's settings
are its own, and a third party's are not known here); the types added from each built-in's settings class document
what the map holds, keyed exactly as the map is. ``make schema`` writes it to provider/schema.json; a test fails when
the committed file drifts; the hosted provider (``hosted_provider``) serves the same schema.
"""

import importlib
import json
import sys
from pathlib import Path
from typing import Any

from pulumi.provider.experimental.analyzer import Analyzer
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.experimental.schema import generate_schema

from backends import builtin_backends
from backends.base import BackendPlugin
from backends.component import TYPE_TOKEN, FlaskPlatform

PACKAGE = "flask-platform"
VERSION = "0.1.0"
SCHEMA_FILE = Path(__file__).resolve().parent.parent / "provider" / "schema.json"
_SCALARS = {"integer": "integer", "string": "string", "boolean": "boolean", "number": "number"}


def _pulumi_type(spec: dict[str, Any]) -> dict[str, Any]:
    """A Pulumi schema type for a pydantic JSON-schema property (scalars, enums as strings, lists of them)."""
    options = spec.get("anyOf") or [spec]
    spec = next((option for option in options if option.get("type") != "null"), options[0])
    if spec.get("type") == "array":
        items = spec.get("items") or (spec.get("prefixItems") or [{"type": "string"}])[0]
        return {"type": "array", "items": _pulumi_type(items)}
    if "enum" in spec or "const" in spec:
        return {"type": "string"}
    return {"type": _SCALARS.get(str(spec.get("type")), "string")}


def _constraints(spec: dict[str, Any]) -> str:
    parts = []
    options = spec.get("anyOf") or [spec]
    spec = {**next((option for option in options if option.get("type") != "null"), options[0]), **spec}
    if "enum" in spec:
        parts.append("one of " + ", ".join(map(str, spec["enum"])))
    items = spec.get("items") or {}
    if "enum" in items:
        parts.append("each one of " + ", ".join(map(str, items["enum"])))
    if "minimum" in spec or "maximum" in spec:
        parts.append(f"{spec.get('minimum', '')}..{spec.get('maximum', '')}")
    if spec.get("default") not in (None, ""):  # "": the field's description says what empty means
        parts.append(f"default {json.dumps(spec['default'])}")
    return f" ({'; '.join(parts)})" if parts else ""


def backend_config_type(plugin: BackendPlugin) -> dict[str, Any]:
    """The schema type documenting a backend's settings, from its settings class (one declaration)."""
    model = plugin.settings.model_json_schema(by_alias=True, mode="validation")
    properties = {}
    for key, spec in model["properties"].items():
        if plugin.settings.model_fields[_field_name(plugin, key)].exclude:
            continue
        properties[key] = {
            **_pulumi_type(spec),
            "description": f"{spec.get('description', key)}{_constraints(spec)}",
        }
    return {
        "type": "object",
        "description": f"The {plugin.name} backend's settings, as `backend_config` when backend is {plugin.name!r} "
        f"(stack config: `pulumi config set --path {plugin.name}.<key> <value>`). {plugin.description}",
        "properties": properties,
    }


def _field_name(plugin: BackendPlugin, key: str) -> str:
    return next(name for name, field in plugin.settings.model_fields.items() if key in (name, field.alias))


def type_token(backend: str) -> str:
    return f"{PACKAGE}:index:{backend.capitalize()}BackendConfig"


def package_schema() -> dict[str, Any]:
    analysis = Analyzer(PACKAGE).analyze([FlaskPlatform])
    dependencies = sorted(analysis["dependencies"], key=lambda d: f"{d.name}{d.version}")
    spec = generate_schema(
        PACKAGE, VERSION, None, analysis["component_definitions"], analysis["type_definitions"], dependencies
    )
    schema: dict[str, Any] = spec.to_json()
    types = schema.setdefault("types", {})
    names = builtin_backends()
    for name in names:
        plugin: BackendPlugin = importlib.import_module(f"backends.{name}").plugin
        types[type_token(name)] = backend_config_type(plugin)
    backend_config = schema["resources"][TYPE_TOKEN]["inputProperties"]["backendConfig"]
    backend_config["description"] += " Built in: " + ", ".join(f"{name}: {type_token(name)}" for name in names) + "."
    return schema


def rendered() -> str:
    return json.dumps(package_schema(), indent=2, sort_keys=True) + "\n"


def hosted_provider() -> ComponentProvider:
    """The component provider that provider/__main__.py hosts, serving this schema (with the backends' types)."""
    provider = ComponentProvider([FlaskPlatform], PACKAGE, None, VERSION)
    provider.schema = json.dumps(package_schema())
    return provider


if __name__ == "__main__":
    SCHEMA_FILE.write_text(rendered())
    print(f"wrote {SCHEMA_FILE.relative_to(Path.cwd()) if SCHEMA_FILE.is_relative_to(Path.cwd()) else SCHEMA_FILE}")
    sys.exit(0)
