"""Hosts the FlaskPlatform component for Pulumi programs in any language (TypeScript, Go, C#, Java, YAML...)."""

import sys
from pathlib import Path

# The component lives in the repository's backends/ package, beside this plugin folder.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi.provider import main

from backends.package_schema import hosted_provider

if __name__ == "__main__":
    # As component_provider_host does (pulumi/provider/experimental/host.py, pulumi 3.272), with the schema that
    # documents the built-in backends' settings.
    main(hosted_provider(), sys.argv[1:])
