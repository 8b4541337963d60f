"""The release of charts/flask-app under Pulumi mocks: the chart named relative to the project, its digest sent."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pulumi
import pytest

import backends.kubernetes_app as kubernetes_app
from backends.config import parse
from backends.minikube import Backend
from tests.infra.conftest import RecordingMocks

REPO_ROOT = Path(__file__).resolve().parents[2]


def released(mocks: RecordingMocks) -> dict[str, Any]:
    """Run the minikube backend (the eks one releases through the same function) and return the Release's inputs."""
    spec = parse({"backend": "minikube"}, stack="local")

    @pulumi.runtime.test
    def run() -> pulumi.Output[None]:
        backend = Backend("users-api", spec)
        return pulumi.Output.all(**backend.deployment.outputs()).apply(lambda _: None)

    run()
    inputs: dict[str, Any] = mocks.one("kubernetes:helm.sh/v3:Release").inputs
    return inputs


def test_the_chart_is_named_relative_to_the_project_so_no_machine_path_reaches_the_state(
    mocks: RecordingMocks,
) -> None:
    chart = released(mocks)["chart"]

    assert chart == "charts/flask-app"
    assert not Path(chart).is_absolute()
    assert str(REPO_ROOT) not in chart
    assert (REPO_ROOT / chart).resolve() == kubernetes_app.CHART_DIR.resolve(), (
        "the program runs from the project's root"
    )
    assert (REPO_ROOT / "Pulumi.yaml").is_file()


def test_a_program_running_elsewhere_gets_the_chart_relative_to_its_own_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The component package runs in the consuming project's folder, not this repository's."""
    monkeypatch.chdir(tmp_path)

    chart = kubernetes_app.chart_path()

    assert not Path(chart).is_absolute()
    assert (tmp_path / chart).resolve() == kubernetes_app.CHART_DIR.resolve()


def test_the_charts_digest_is_sent_with_the_values(mocks: RecordingMocks) -> None:
    values = released(mocks)["values"]

    assert values["chartDigest"] == kubernetes_app.chart_digest(REPO_ROOT / "charts" / "flask-app")
    assert len(values["chartDigest"]) == 64


@pytest.fixture
def chart_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "flask-app"
    shutil.copytree(REPO_ROOT / "charts" / "flask-app", copy)
    monkeypatch.setattr(kubernetes_app, "CHART_DIR", copy)
    return copy


def test_changing_any_chart_file_changes_what_is_sent_without_a_version_bump(
    mocks: RecordingMocks, chart_copy: Path
) -> None:
    def send() -> tuple[str, str]:
        """One program run on fresh mocks (the fixture's set up how they run), as one `pulumi up` would."""
        recording = RecordingMocks()
        pulumi.runtime.set_mocks(recording, project="flask-platform", stack="test", preview=False)
        inputs = released(recording)
        return inputs["chart"], inputs["values"]["chartDigest"]

    before = send()
    assert send() == before, "the same chart sends the same digest"

    template = chart_copy / "templates" / "deployment.yaml"
    template.write_text(template.read_text().replace("revisionHistoryLimit: 5", "revisionHistoryLimit: 6"))
    after_template = send()
    assert after_template[0] == before[0]
    assert after_template[1] != before[1], "a changed template must reach the release"
    assert "version: 0.1.0" in (chart_copy / "Chart.yaml").read_text(), "no version bump was needed"

    (chart_copy / "templates" / "extra.yaml").write_text("# a new file\n")
    assert send()[1] != after_template[1], "a new file counts too"


def test_editor_leftovers_change_nothing(tmp_path: Path) -> None:
    copy = tmp_path / "flask-app"
    shutil.copytree(REPO_ROOT / "charts" / "flask-app", copy)
    before = kubernetes_app.chart_digest(copy)

    (copy / "values.yaml.swp").write_text("swap")
    (copy / "templates" / "deployment.yaml~").write_text("backup")

    assert kubernetes_app.chart_digest(copy) == before
