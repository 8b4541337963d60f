"""checkov, offline, fails nothing that any value set renders; what it skips, the chart skips on purpose, with a reason.

checkov pins its dependencies exactly (boto3 among them) and cannot share the project's .venv, so it lives in its
own virtual environment: `.venv-checkov` (requirements-checkov.txt), or any checkov named by $CHECKOV. Its absence
fails these tests; it never skips them.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest

from tests.chart.support import REPO_ROOT, VALUE_SETS, Release, annotations_of, as_yaml, render

CHECKOV_VENV = REPO_ROOT / ".venv-checkov"
INSTALL = (
    "run `make checkov-venv` (or, from the repository's root: python3 -m venv .venv-checkov && "
    ".venv-checkov/bin/pip install -r requirements-checkov.txt), or set CHECKOV to a checkov executable"
)
# What each value set makes deliberate (see flask-app.checkovSkips in the chart's _helpers.tpl).
EXPECTED_SKIPS = {
    "defaults": {"CKV_K8S_43", "CKV_K8S_15", "CKV2_K8S_6", "CKV_K8S_8", "CKV_K8S_9"},
    "eks": {"CKV_K8S_15", "CKV_K8S_8", "CKV_K8S_9"},  # IRSA needs no API token: none is mounted
    "minikube": {"CKV_K8S_43", "CKV_K8S_15", "CKV_K8S_35", "CKV2_K8S_6", "CKV_K8S_8", "CKV_K8S_9"},
    "old-readme-set-lines": {"CKV_K8S_43", "CKV_K8S_15", "CKV_K8S_35", "CKV2_K8S_6", "CKV_K8S_8", "CKV_K8S_9"},
}

Results = dict[str, dict[str, list[dict[str, Any]]]]  # value set -> passed/failed/skipped -> checks


def checkov_executable() -> Path:
    configured = os.environ.get("CHECKOV")
    executable = Path(configured) if configured else CHECKOV_VENV / "bin" / "checkov"
    if not (executable.is_file() and os.access(executable, os.X_OK)):
        pytest.fail(f"checkov is not installed at {executable}: {INSTALL}", pytrace=False)
    return executable


@pytest.fixture(scope="session")
def checkov_results(chart: helm.Chart, tmp_path_factory: pytest.TempPathFactory) -> Results:
    """One checkov run over every value set's manifests (one folder each), its checks sorted back by value set."""
    executable = checkov_executable()
    root = tmp_path_factory.mktemp("checkov")
    for name, values in VALUE_SETS.items():
        (root / name).mkdir()
        (root / name / "manifests.yaml").write_text(as_yaml(render(chart, values, name).manifests))
    # Offline and quiet: no policy download, no update check, and the app's LOG_LEVEL is not checkov's.
    env = {key: value for key, value in os.environ.items() if key != "LOG_LEVEL"}
    env |= {"CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "BC_SKIP_MAPPING": "TRUE"}
    command = [str(executable), "--directory", str(root), "--framework", "kubernetes", "--skip-download"]
    completed = subprocess.run(
        [*command, "--output", "json"], capture_output=True, text=True, env=env, timeout=240, check=False
    )
    try:
        report = json.loads(completed.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov gave no JSON report (exit {completed.returncode}):\n{completed.stderr[-4000:]}")
    results: Results = defaultdict(lambda: defaultdict(list))
    for outcome in ("passed", "failed", "skipped"):
        for check in report["results"][f"{outcome}_checks"]:
            value_set = Path(check["file_path"]).parts[1]
            results[value_set][outcome].append(check)
    return results


@pytest.mark.parametrize("value_set", list(VALUE_SETS))
def test_checkov_fails_nothing_the_value_set_renders(checkov_results: Results, value_set: str) -> None:
    checks = checkov_results[value_set]

    assert len(checks["passed"]) > 50, "checkov must have scanned the manifests"
    assert [f"{check['check_id']} {check['check_name']}: {check['resource']}" for check in checks["failed"]] == []


@pytest.mark.parametrize("value_set", list(VALUE_SETS))
def test_checkov_skips_only_what_the_values_make_deliberate_and_says_why(
    checkov_results: Results, value_set: str
) -> None:
    skipped = checkov_results[value_set]["skipped"]

    assert {check["check_id"] for check in skipped} == EXPECTED_SKIPS[value_set]
    for check in skipped:
        assert len(check["check_result"]["suppress_comment"]) > 30, check["check_id"]


def test_every_skip_annotation_is_one_check_and_one_reason(release: Release) -> None:
    for manifest in release.manifests:
        for key, value in annotations_of(manifest).items():
            if key.startswith("checkov.io/skip"):
                # checkov splits on "=": a second one in the reason would break its parsing.
                check, reason = value.split("=")
                assert check.startswith(("CKV_K8S_", "CKV2_K8S_"))
                assert reason
