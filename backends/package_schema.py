"""The Pulumi package schema of FlaskPlatform, inferred by Pulumi's own analyzer, offline.

``make schema`` writes it to provider/schema.json; a test fails when the
committed file drifts from what the component's annotations say.
"""

import json
import sys
from pathlib import Path
from typing import Any

from pulumi.provider.experimental.analyzer import Analyzer
from pulumi.provider.experimental.schema import generate_schema

from backends.component import FlaskPlatform

PACKAGE = "flask-platform"
VERSION = "0.1.0"
SCHEMA_FILE = Path(__file__).resolve().parent.parent / "provider" / "schema.json"


def package_schema() -> dict[str, Any]:
    analysis = Analyzer(PACKAGE).analyze([FlaskPlatform])
    dependencies = sorted(analysis["dependencies"], key=lambda d: f"{d.name}{d.version}")
    spec = generate_schema(
        PACKAGE, VERSION, None, analysis["component_definitions"], analysis["type_definitions"], dependencies
    )
    schema: dict[str, Any] = spec.to_json()
    return schema


def rendered() -> str:
    return json.dumps(package_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    SCHEMA_FILE.write_text(rendered())
    print(f"wrote {SCHEMA_FILE.relative_to(Path.cwd()) if SCHEMA_FILE.is_relative_to(Path.cwd()) else SCHEMA_FILE}")
    sys.exit(0)
