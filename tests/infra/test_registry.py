"""The backend registry: built-ins by name, third parties by entry point, clear errors otherwise."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pulumi
import pytest

import backends
from backends import (
    BACKEND_NAME,
    ENTRY_POINT_GROUP,
    NotABackend,
    UnknownBackend,
    builtin_backends,
    known_backends,
    load_plugin,
)
from backends.base import BackendPlugin
from backends.settings import CONFIG_HINTS, hints_for
from tests.infra.conftest import RecordingMocks

BUILT_IN = ["eks", "lambda", "minikube"]


def test_the_built_ins_are_found_by_their_folders() -> None:
    assert builtin_backends() == BUILT_IN


@pytest.mark.parametrize("name", BUILT_IN)
def test_each_built_in_backend_loads_by_name(name: str) -> None:
    plugin = load_plugin(name)  # `backends.lambda` cannot be imported with an import statement: a keyword

    assert plugin.name == name
    assert plugin.factory.__module__ == f"backends.{name}"
    assert getattr(plugin.factory, "__name__", None) == "Backend"
    assert plugin.settings.__module__ == f"backends.{name}.settings"


@pytest.mark.parametrize(
    ("name", "says"),
    [
        pytest.param(None, "no backend is set", id="missing"),
        pytest.param("", "no backend is set", id="empty"),
        pytest.param("heroku", "unknown backend 'heroku'", id="unknown"),
    ],
)
def test_a_wrong_backend_fails_with_the_known_names_and_the_command(name: str | None, says: str) -> None:
    with pytest.raises(UnknownBackend) as failure, hints_for(CONFIG_HINTS):
        load_plugin(name)

    message = str(failure.value)
    assert says in message
    assert "lambda" in message
    assert "pulumi config set backend" in message


def test_a_component_user_is_told_to_set_the_argument_not_the_stack_config() -> None:
    with pytest.raises(UnknownBackend) as failure:
        load_plugin("heroku")  # outside the root program: the component's args

    assert "as the backend argument" in str(failure.value)
    assert "pulumi config" not in str(failure.value)


@pytest.fixture
def third_party_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A small installed distribution whose entry point registers a backend called `acme`."""
    (tmp_path / "acme_backend.py").write_text(
        "from backends.plugin import BackendPlugin, BackendSettings\n"
        "class AcmeSettings(BackendSettings):\n    region_code: str = 'eu'\n"
        "def Backend(name, spec, opts=None):\n    return ('acme', name, spec)\n"
        "plugin = BackendPlugin('acme', AcmeSettings, Backend, 'Acme Cloud')\n"
        "not_a_plugin = Backend\n"
    )
    dist_info = tmp_path / "acme_backend-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-backend\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\nacme = acme_backend:plugin\nbroken = acme_backend:not_a_plugin\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "acme_backend", raising=False)
    return "acme"


def test_a_third_party_backend_plugs_in_through_the_entry_point_group(third_party_backend: str) -> None:
    assert third_party_backend in known_backends()

    plugin = load_plugin(third_party_backend)

    made: Any = plugin.factory("users-api", None)  # type: ignore[arg-type]
    assert made == ("acme", "users-api", None)
    assert isinstance(plugin, BackendPlugin)


def test_a_third_party_backends_settings_reach_it_through_the_same_validation(third_party_backend: str) -> None:
    from backends.config import ConfigError, parse

    spec = parse({"backend": "acme", "acme": {"regionCode": "us"}})

    assert spec.settings.model_dump() == {"region_code": "us"}
    with pytest.raises(ConfigError, match=r"^acme.zone is not a setting of the acme backend"):
        parse({"backend": "acme", "acme": {"zone": "a"}})


def test_an_entry_point_that_is_not_a_plugin_is_named(third_party_backend: str) -> None:
    with pytest.raises(NotABackend, match="backend 'broken' does not provide a BackendPlugin"):
        load_plugin("broken")


def test_built_in_names_are_listed() -> None:
    assert set(backends.builtin_backends()) <= set(known_backends())


# A fifth backend written from the README's "Write your own backend" alone: settings, a component using the toolkit,
# the plugin, an entry point. Nothing of the platform changes for it.
FIFTH_BACKEND = """
import json
import pulumi
import pulumi_aws as aws
from pydantic import Field
from backends.plugin import AppSpec, BackendPlugin, BackendSettings, Deployment, Storage, app_policy_statements


class RunnerSettings(BackendSettings):
    instances: int = Field(1, ge=1, le=4, description="How many app runners.")


class Backend(pulumi.ComponentResource):
    def __init__(self, name: str, spec: AppSpec, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("flask-platform:backends:Runner", name, None, opts)
        settings = spec.settings_as(RunnerSettings)
        storage = Storage(name, tags=spec.tags, deletion_protection=spec.deletion_protection,
                          opts=pulumi.ResourceOptions(parent=self))
        aws.iam.Policy(f"{name}-app", policy=pulumi.Output.all(storage.table.arn, storage.bucket.arn).apply(
            lambda arns: json.dumps({"Version": "2012-10-17", "Statement": app_policy_statements(*arns)})),
            opts=pulumi.ResourceOptions(parent=self))
        self.deployment = Deployment(url="http://runner.example", backend="runner", table_name=storage.table.name,
                                     bucket_name=storage.bucket.bucket,
                                     scaling={"kind": "runner", "instances": settings.instances,
                                              "environment": spec.app_environment()})
        self.register_outputs(self.deployment.outputs())


plugin = BackendPlugin(name="runner", settings=RunnerSettings, factory=Backend, description="App runners.")
"""


@pytest.fixture
def fifth_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "runner_backend.py").write_text(FIFTH_BACKEND)
    dist_info = tmp_path / "runner_backend-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: runner-backend\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nrunner = runner_backend:plugin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "runner_backend", raising=False)
    return "runner"


def test_a_fifth_backends_settings_reach_it_through_the_component(mocks: RecordingMocks, fifth_backend: str) -> None:
    from backends.component import FlaskPlatform

    outputs: dict[str, Any] = {}

    @pulumi.runtime.test
    def program() -> pulumi.Output[None]:
        platform = FlaskPlatform(
            "users-api", {"backend": fifth_backend, "log_level": "warning", "backend_config": {"instances": "3"}}
        )
        return pulumi.Output.all(scaling=platform.scaling, backend=platform.backend).apply(outputs.update)

    program()

    assert outputs["backend"] == "runner"
    assert outputs["scaling"] == {"kind": "runner", "instances": 3, "environment": {"LOG_LEVEL": "WARNING"}}
    assert "flask-platform:backends:Runner" in {resource.typ for resource in mocks.resources}


def test_a_fifth_backends_bad_setting_is_named_for_the_component(mocks: RecordingMocks, fifth_backend: str) -> None:
    from backends.component import FlaskPlatform
    from backends.config import ConfigError

    with pytest.raises(ConfigError) as failure:
        FlaskPlatform("users-api", {"backend": fifth_backend, "backend_config": {"instances": 9}})

    assert str(failure.value).startswith('backend_config["instances"]=9: Input should be less than or equal to 4')
    assert mocks.resources == []


INVALID_NAMES = ["app.runner", "AppRunner", "app runner", "app[0]", "2fast", "app-runner", "app__runner", "app_"]


@pytest.mark.parametrize("name", INVALID_NAMES)
def test_an_entry_point_under_an_invalid_name_is_refused_with_the_rule(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dot or bracket would be read as a --path by `pulumi config set`, a dash is outside Pulumi's property
    path grammar; the name is also the config key."""
    (tmp_path / "odd_backend.py").write_text(
        "from backends.plugin import BackendPlugin, BackendSettings\n"
        f"plugin = BackendPlugin({name!r}, BackendSettings, lambda name, spec, opts=None: None, 'Odd')\n"
    )
    dist_info = tmp_path / "odd_backend-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: odd-backend\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{name} = odd_backend:plugin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "odd_backend", raising=False)

    with pytest.raises(NotABackend) as failure:
        load_plugin(name)

    assert f"backend {name!r} is registered under an invalid name" in str(failure.value)
    assert "rename the entry point" in str(failure.value)


@pytest.mark.parametrize("name", builtin_backends())
def test_every_built_in_name_follows_the_naming_rule(name: str) -> None:
    assert BACKEND_NAME.match(name)
