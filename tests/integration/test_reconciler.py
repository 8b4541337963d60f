"""The reconciler as `make local` runs it (``python -m users_api.reconcile``), against a real moto server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from devtools.resources import app_environment, dynamodb_client, s3_client
from tests.support import REGION, image_bytes
from users_api.store import owner_metadata, pending_tagging

pytestmark = pytest.mark.integration


def put_pending(endpoint: str, bucket: str, key: str, owner: str) -> None:
    s3_client(endpoint, REGION).put_object(
        Bucket=bucket,
        Key=key,
        Body=image_bytes(),
        ContentType="image/png",
        Tagging=pending_tagging("create"),
        Metadata={"owner": owner_metadata(owner)},
    )


def test_one_pass_finalises_avatars_whose_user_exists_and_deletes_the_others(
    moto_server: str, names: tuple[str, str]
) -> None:
    table, bucket = names
    put_pending(moto_server, bucket, "avatars/kept.png", "kept@example.com")
    put_pending(moto_server, bucket, "avatars/orphan.png", "nobody@example.com")
    dynamodb_client(moto_server, REGION).put_item(
        TableName=table,
        Item={
            "email": {"S": "kept@example.com"},
            "name": {"S": "Kept"},
            "avatar_key": {"S": "avatars/kept.png"},
            "created_at": {"S": "2026-12-02T00:00:00.000000Z"},
        },
    )

    result = subprocess.run(
        [sys.executable, "-m", "users_api.reconcile", "--min-age", "0"],
        env=app_environment(moto_server, REGION, table, bucket),
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    s3 = s3_client(moto_server, REGION)
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert result.returncode == 0, result.stderr
    assert keys == ["avatars/kept.png"]
    assert s3.get_object_tagging(Bucket=bucket, Key="avatars/kept.png")["TagSet"] == []
    assert '"finalised": 1' in result.stdout
    assert '"deleted": 1' in result.stdout


def test_a_bad_argument_is_refused(moto_server: str, names: tuple[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "users_api.reconcile", "--min-age", "-5"],
        env=app_environment(moto_server, REGION, *names),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert "--min-age" in result.stderr
