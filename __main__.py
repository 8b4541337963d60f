"""The Pulumi program: read the stack config, hand it to the FlaskPlatform component, export. No resource is defined
here. Errors are phrased as `pulumi config set` commands (the component's own phrasing names its args)."""

from typing import cast

import pulumi

from backends.component import FlaskPlatform, FlaskPlatformArgs, component_name
from backends.config import stack_config
from backends.settings import CONFIG_HINTS, hints_for

with hints_for(CONFIG_HINTS):
    args = cast(FlaskPlatformArgs, stack_config())
    platform = FlaskPlatform(component_name(args), args)
for key, value in platform.deployment.outputs().items():
    pulumi.export(key, pulumi.Output.secret(value) if key == "kubeconfig" else value)
