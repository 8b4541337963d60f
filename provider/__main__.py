"""Hosts the FlaskPlatform component for Pulumi programs in any language (TypeScript, Go, C#, Java, YAML...)."""

import sys
from pathlib import Path

# The component lives in the repository's backends/ package, beside this plugin folder.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi.provider.experimental import component_provider_host

from backends.component import FlaskPlatform
from backends.package_schema import PACKAGE, VERSION

if __name__ == "__main__":
    component_provider_host([FlaskPlatform], name=PACKAGE, version=VERSION)
