"""/tmp holds every upload the pod can be spooling at once, and the memory limit holds /tmp as well as gunicorn.

Werkzeug spools a form's file part to a temporary file once it passes 500 KB; a request's body is at most
MAX_AVATAR_BYTES + 64 KiB (the app's MAX_CONTENT_LENGTH), and each gunicorn thread serves one request at a time.
/tmp is a memory-backed emptyDir, so what it holds is charged to the pod's memory limit.
"""

from __future__ import annotations

import re
from typing import Any

import helm_python as helm
import pytest

from tests.chart.support import Release, render

KiB, MiB = 1024, 1024 * 1024
FORM_OVERHEAD = 64 * KiB  # users_api.FORM_OVERHEAD_BYTES
HEADROOM = 16 * MiB  # gunicorn's heartbeat files and any other temporary file
GUNICORN_MIB = {"master": 64, "worker": 128}
UNITS = {"": 1, "k": 1000, "M": 1000**2, "G": 1000**3, "Ki": KiB, "Mi": MiB, "Gi": 1024 * MiB}


def quantity(value: str | int) -> float:
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(value))
    assert match, value
    return float(match[1]) * UNITS[match[2]]


def spooled_at_once(values: dict[str, Any]) -> int:
    gunicorn: dict[str, int] = values["gunicorn"]
    return gunicorn["workers"] * gunicorn["spooledUploads"] * (int(values["env"]["MAX_AVATAR_BYTES"]) + FORM_OVERHEAD)


def tmp_size(rendered: Release) -> float:
    (volume,) = rendered.one("Deployment")["spec"]["template"]["spec"]["volumes"]
    return quantity(volume["emptyDir"]["sizeLimit"])


def needed_memory(values: dict[str, Any]) -> int:
    tmp_mib = -(-(spooled_at_once(values) + HEADROOM) // MiB)
    workers: int = values["gunicorn"]["workers"]
    return (tmp_mib + GUNICORN_MIB["master"] + GUNICORN_MIB["worker"] * workers) * MiB


def test_the_value_sets_give_tmp_room_for_every_thread_spooling_an_upload_and_the_limit_room_for_tmp(
    release: Release,
) -> None:
    size = tmp_size(release)

    assert size >= spooled_at_once(release.values) + HEADROOM
    assert size < spooled_at_once(release.values) + HEADROOM + MiB, "rounded up to the next MiB, no more"
    assert quantity(release.values["resources"]["limits"]["memory"]) >= needed_memory(release.values)


@pytest.mark.parametrize(
    "values",
    [
        pytest.param({}, id="defaults"),
        pytest.param(
            {"env": {"MAX_AVATAR_BYTES": 67108864}, "gunicorn": {"workers": 1, "spooledUploads": 1}}, id="64MiB-1x1"
        ),
        pytest.param({"env": {"MAX_AVATAR_BYTES": "16777216"}}, id="16MiB-2x4"),
        pytest.param({"gunicorn": {"workers": 3, "spooledUploads": 8}}, id="2MiB-3x8"),
        pytest.param({"env": {"MAX_AVATAR_BYTES": 1}, "gunicorn": {"workers": 1, "spooledUploads": 1}}, id="1-byte"),
    ],
)
def test_a_limit_that_holds_tmp_full_and_gunicorn_renders_and_one_byte_less_is_refused(
    chart: helm.Chart, values: dict[str, Any]
) -> None:
    merged = chart.merge_values(values)
    needed = needed_memory(merged)

    at_limit = render(chart, values | {"resources": {"limits": {"memory": needed}}})
    assert tmp_size(at_limit) >= spooled_at_once(merged) + HEADROOM
    with pytest.raises(
        helm.HelmRenderError, match=re.escape(f"cannot hold /tmp full ({tmp_size(at_limit) // MiB:.0f}Mi")
    ):
        render(chart, values | {"resources": {"limits": {"memory": needed - 1}}})


@pytest.mark.parametrize(
    ("memory", "renders"),
    [
        pytest.param("465Mi", True, id="465Mi"),
        pytest.param("464Mi", False, id="464Mi"),
        pytest.param("0.5Gi", True, id="0.5Gi"),
        pytest.param("488M", True, id="488M-is-465.4Mi"),
        pytest.param("487M", False, id="487M-is-464.4Mi"),
        pytest.param(487587840, True, id="bytes"),
        pytest.param(487587839, False, id="bytes-one-short"),
    ],
)
def test_memory_quantities_in_every_unit_are_compared_in_bytes(
    chart: helm.Chart, memory: str | int, renders: bool
) -> None:
    # 2 workers x 4 uploads x (16 MiB + 64 KiB) + 16 MiB = 144.5 MiB -> 145Mi of /tmp; gunicorn 64 + 2 x 128 = 320Mi.
    values = {"env": {"MAX_AVATAR_BYTES": 16 * MiB}, "resources": {"limits": {"memory": memory}}}
    if renders:
        assert tmp_size(render(chart, values)) == 145 * MiB
    else:
        with pytest.raises(helm.HelmRenderError, match=re.escape("raise it to at least 465Mi")):
            render(chart, values)


def test_the_largest_avatar_with_the_default_spooled_uploads_is_refused_at_the_default_limit(chart: helm.Chart) -> None:
    with pytest.raises(helm.HelmRenderError, match=re.escape("resources.limits.memory (512Mi) cannot hold /tmp full")):
        render(chart, {"env": {"MAX_AVATAR_BYTES": 64 * MiB}})
