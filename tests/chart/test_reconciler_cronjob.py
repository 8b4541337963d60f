"""The reconciler's CronJob: off by default, on it runs one pass of the app's reconciler every 10 minutes, one at a
time, with the app's image, configuration and credentials, in pods the Service and the Deployment never select."""

from __future__ import annotations

from typing import Any

import helm_python as helm
import pytest

from tests.chart.support import FULLNAME, RELEASE, render


def reconciler(chart: helm.Chart, **values: Any) -> dict[str, Any]:
    release = render(chart, {"reconciler": {"enabled": True}, **values})
    job: dict[str, Any] = release.one("CronJob")
    return job


def test_off_by_default(chart: helm.Chart) -> None:
    assert render(chart, {}).of_kind("CronJob") == []


def test_it_runs_one_pass_every_ten_minutes_never_two_at_once(chart: helm.Chart) -> None:
    job = reconciler(chart)
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    container = pod["containers"][0]

    assert job["metadata"]["name"] == f"{FULLNAME}-reconciler"
    assert job["spec"]["schedule"] == "*/10 * * * *"
    assert job["spec"]["concurrencyPolicy"] == "Forbid"
    assert job["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"] < 10 * 60
    assert pod["restartPolicy"] == "Never"
    assert container["command"] == ["python", "-m", "users_api.reconcile"]  # no --every: one pass and exit
    assert container["resources"] == {
        "requests": {"cpu": "50m", "memory": "128Mi"},
        "limits": {"cpu": "500m", "memory": "256Mi"},
    }


def test_it_has_the_apps_image_configuration_credentials_and_service_account(chart: helm.Chart) -> None:
    values = {"env": {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}}
    release = render(chart, {"reconciler": {"enabled": True}, **values})
    pod = release.one("CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    app = release.one("Deployment")["spec"]["template"]["spec"]

    assert pod["containers"][0]["image"] == app["containers"][0]["image"]
    assert pod["containers"][0]["envFrom"] == app["containers"][0]["envFrom"]
    assert pod["containers"][0]["env"] == app["containers"][0]["env"]  # the Secret, by reference
    assert pod["serviceAccountName"] == app["serviceAccountName"]
    assert pod["securityContext"] == app["securityContext"]
    assert pod["containers"][0]["securityContext"] == app["containers"][0]["securityContext"]


def test_its_pods_are_not_the_deployments_nor_the_services(chart: helm.Chart) -> None:
    release = render(chart, {"reconciler": {"enabled": True}})
    labels = release.one("CronJob")["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    selector = release.one("Service")["spec"]["selector"]

    assert labels["app.kubernetes.io/instance"] == RELEASE
    assert not selector.items() <= labels.items()
    assert not release.one("Deployment")["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_a_long_release_name_still_fits_a_cronjobs_52_characters(chart: helm.Chart) -> None:
    job = reconciler(chart, fullnameOverride="a" * 63)

    assert len(job["metadata"]["name"]) <= 52


@pytest.mark.parametrize("schedule", ["every ten minutes", "*/10 * * *", ""])
def test_a_schedule_that_is_not_five_cron_fields_is_refused(chart: helm.Chart, schedule: str) -> None:
    with pytest.raises(Exception, match="schedule"):
        render(chart, {"reconciler": {"enabled": True, "schedule": schedule}})


def test_with_a_role_it_runs_as_its_own_service_account_bearing_that_role(chart: helm.Chart) -> None:
    role = "arn:aws:iam::123456789012:role/users-api-reconciler"
    release = render(
        chart,
        {
            "serviceAccount": {"enabled": True, "roleArn": "arn:aws:iam::123456789012:role/users-api-pods"},
            "reconciler": {"enabled": True, "serviceAccount": {"roleArn": role, "name": "users-api-reconciler"}},
        },
    )
    accounts = {account["metadata"]["name"]: account for account in release.of_kind("ServiceAccount")}
    pod = release.one("CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]

    assert pod["serviceAccountName"] == "users-api-reconciler"
    assert accounts["users-api-reconciler"]["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": role}
    assert accounts["users-api-reconciler"]["automountServiceAccountToken"] is False
    app_account = release.one("Deployment")["spec"]["template"]["spec"]["serviceAccountName"]
    assert set(accounts) == {"users-api-reconciler", app_account}
