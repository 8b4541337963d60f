"""AWS clients, created once per process and shared by its threads (botocore clients are thread-safe).

botocore is what a boto3 client is made of; using it directly keeps boto3 and
s3transfer (about 20 ms) off the import path of every cold start. The S3
client is made on first use: listing users never touches S3, so a fresh
process answers its first ``GET /users`` without paying for S3's model.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any, cast

import botocore.session
from botocore.config import Config

from .config import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

# Requests served by the API: short timeouts and no retry inside botocore, never its 60 s defaults. The store
# retries itself, only while another whole attempt fits in the request's deadline (deadline.py).
SERVING: dict[str, Any] = {"connect_timeout": 1.0, "read_timeout": 3.0, "max_attempts": 1}
# Readiness probes must answer fast and must not retry: the caller polls again anyway.
PROBING: dict[str, Any] = {"connect_timeout": 1.0, "read_timeout": 1.0, "max_attempts": 1}


class AwsClients:
    """The DynamoDB client (made now) and the S3 client (made on first use, once)."""

    def __init__(self, settings: Settings, *, probing: bool = False, session: botocore.session.Session | None = None):
        profile = PROBING if probing else SERVING
        # The longest one attempt may take: a request starts an attempt only with this much time left.
        self.attempt_seconds: float = profile["connect_timeout"] + profile["read_timeout"]
        self._config = Config(
            region_name=settings.region,
            connect_timeout=profile["connect_timeout"],
            read_timeout=profile["read_timeout"],
            retries={"mode": "standard", "total_max_attempts": profile["max_attempts"]},
            max_pool_connections=32,
        )
        self._endpoint_url = settings.endpoint_url
        self._session = session or botocore.session.get_session()
        self._lock = threading.Lock()
        self._s3: S3Client | None = None
        self._presign_endpoint_url = settings.presign_endpoint_url
        self._s3_presigner: S3Client | None = None
        self.dynamodb = cast("DynamoDBClient", self._create("dynamodb", self._config))
        self.dynamodb.meta.events.register("before-parse.dynamodb.Scan", _keep_scanned_items_as_sent)

    @property
    def s3(self) -> S3Client:
        if self._s3 is None:
            with self._lock:
                if self._s3 is None:
                    s3_config = self._config.merge(
                        Config(
                            # SigV4 presigned URLs (X-Amz-Expires), valid in every region.
                            signature_version="s3v4",
                            # Emulators answer on one host name: virtual-hosted bucket names would not resolve.
                            s3={"addressing_style": "path"} if self._endpoint_url else {},
                        )
                    )
                    self._s3 = cast("S3Client", self._create("s3", s3_config))
        return self._s3

    @property
    def s3_presigner(self) -> S3Client:
        """The client that presigns avatar URLs: the S3 client, or one for S3_PRESIGN_ENDPOINT_URL (never called)."""
        if self._presign_endpoint_url is None:
            return self.s3
        if self._s3_presigner is None:
            config = self.s3.meta.config  # the same signature version and path-style addressing
            with self._lock:
                if self._s3_presigner is None:
                    self._s3_presigner = cast(
                        "S3Client",
                        self._session.create_client("s3", endpoint_url=self._presign_endpoint_url, config=config),
                    )
        return self._s3_presigner

    def _create(self, service: str, config: Config) -> Any:
        return self._session.create_client(service, endpoint_url=self._endpoint_url, config=config)


def _keep_scanned_items_as_sent(
    response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any
) -> None:
    """Hand a Scan's ``Items`` over as DynamoDB sent them, skipping botocore's per-attribute shape walk.

    That walk is about half the CPU of listing a page of 100 users (measured
    with cProfile; see ARCHITECTURE.md). DynamoDB's wire JSON already is the
    parsed form of every attribute type but binary (B, BS), which the users
    table never holds. This uses the customisation hook botocore itself uses
    (``before-parse`` with ``customized_response_dict``, see its
    ``handle_expires_header``): the rest of the response is parsed as usual.
    """
    if response_dict.get("status_code") != 200 or not response_dict.get("body"):
        return
    document = json.loads(response_dict["body"])
    items = document.pop("Items", None)
    if isinstance(items, list):
        customized_response_dict["Items"] = items
        response_dict["body"] = json.dumps(document).encode()


def make_clients(
    settings: Settings, *, probing: bool = False, session: botocore.session.Session | None = None
) -> AwsClients:
    return AwsClients(settings, probing=probing, session=session)
