"""The Pulumi program: read config, hand it to the FlaskPlatform component, export. No resource is defined here."""

import pulumi

from backends.component import FlaskPlatform, args_from_spec
from backends.config import from_stack

spec = from_stack()
platform = FlaskPlatform(spec.name, args_from_spec(spec))
for key, value in platform.deployment.outputs().items():
    pulumi.export(key, pulumi.Output.secret(value) if key == "kubeconfig" else value)
