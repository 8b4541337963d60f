"""The Pulumi program: read config, pick the backend, deploy, export. No resource is defined here."""

import pulumi

from backends import load_backend
from backends.config import from_stack

spec = from_stack()
backend = load_backend(spec.backend)(spec.name, spec)
for key, value in backend.deployment.outputs().items():
    pulumi.export(key, pulumi.Output.secret(value) if key == "kubeconfig" else value)
