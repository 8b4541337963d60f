"""Users in DynamoDB, avatars in S3, kept consistent with each other under failures and crashes.

The rule (ARCHITECTURE.md, "No orphan avatars"): an avatar object is *pending*
(tagged ``state=pending``) whenever no confirmed user points at it. Create
uploads it pending, writes the user with a conditional put, then finalises it
(removes the tags). Delete marks it pending, deletes the user conditionally,
then deletes it. Whatever step a crash, a timeout or a late write stops, what
is left is either consistent or a pending object; a pending object is resolved
by whoever next sees it (the avatar route, a retried request, the reconciler:
``reconcile.py``) or expired by the bucket's lifecycle rule (``backends/storage.py``).
An object is never deleted after an ambiguous user write: that write may still land.

Every AWS failure becomes an ApiError here, so the HTTP layer never sees a botocore exception.
"""

from __future__ import annotations

import base64
import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar, cast
from urllib.parse import urlencode

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, EndpointConnectionError

from .aws import AwsClients
from .deadline import Deadline
from .errors import ApiError, DependencyUnavailable

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import TagTypeDef

    from .avatars import Avatar

log = logging.getLogger("users_api")

AVATAR_PREFIX = "avatars/"
TABLE = "DynamoDB"
BUCKET = "S3"

# The object tags of a pending avatar. The lifecycle rule filters on STATE_TAG=PENDING (exact key and value);
# the reconciler reads the others. Tag values may hold letters, digits, spaces and + - = . _ : / @ (S3 tag rules).
STATE_TAG, PENDING = "state", "pending"
PENDING_FOR_TAG = "pending-for"  # "create" (its user is not confirmed yet) or "delete" (its user is being deleted)
PENDING_SINCE_TAG = "pending-since"  # Unix seconds when it was marked
# The owner's email, base64url (tag values cannot hold every address's characters): lets the reconciler look
# the user up. Object metadata, not a tag: an email may be longer than a tag value's 256 characters.
OWNER_METADATA = "owner"

# botocore error codes that mean "refused, try again later": the call was not applied.
_THROTTLED = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "SlowDown",
        "RequestThrottled",
    }
)
_BACKOFF_CAP_SECONDS = 0.5
MAX_ATTEMPTS = 3  # per call, as botocore's standard retry mode; fewer when the deadline does not allow them

T = TypeVar("T")


class User(NamedTuple):
    """A NamedTuple, not a frozen dataclass: a page builds a hundred of them and tuples are made 3x faster."""

    email: str
    name: str
    avatar_key: str
    created_at: str


@dataclass(frozen=True)
class Page:
    users: list[User]
    last_email: str | None  # set when more items may remain


class EmailTaken(ApiError):
    def __init__(self) -> None:
        super().__init__(409, "email_taken", "a user with this email is already registered", field="email")


class ConcurrentChange(ApiError):
    def __init__(self) -> None:
        super().__init__(
            409, "concurrent_change", "the user was deleted or replaced while this request ran; fetch it and retry"
        )


class UserNotFound(ApiError):
    def __init__(self) -> None:
        super().__init__(404, "user_not_found", "no user is registered with this email")


class AvatarNotFound(ApiError):
    def __init__(self) -> None:
        super().__init__(404, "avatar_not_found", "this user has no avatar")


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, ClientError):
        return error_code(exc) in _THROTTLED or _status(exc) >= 500
    return isinstance(exc, ConnectionError)


def _ambiguous(exc: Exception) -> bool:
    """No definite answer: the call may have been applied (a timeout after sending, a 5xx, a dropped connection).

    A connection that was never made (EndpointConnectionError, ConnectTimeoutError) sent nothing.
    """
    if isinstance(exc, ClientError):
        return _status(exc) >= 500
    if isinstance(exc, EndpointConnectionError):  # includes ConnectTimeoutError
        return False
    return isinstance(exc, BotoCoreError)


def pending_tagging(purpose: str, now: float | None = None) -> str:
    """The ``Tagging`` value (URL-encoded, as PutObject's x-amz-tagging header takes it) of a pending object."""
    return urlencode(
        {
            STATE_TAG: PENDING,
            PENDING_FOR_TAG: purpose,
            PENDING_SINCE_TAG: str(int(now if now is not None else time.time())),
        }
    )


def pending_tag_set(purpose: str, now: float | None = None) -> list[TagTypeDef]:
    stamp = str(int(now if now is not None else time.time()))
    return [
        {"Key": STATE_TAG, "Value": PENDING},
        {"Key": PENDING_FOR_TAG, "Value": purpose},
        {"Key": PENDING_SINCE_TAG, "Value": stamp},
    ]


def owner_metadata(email: str) -> str:
    return base64.urlsafe_b64encode(email.encode()).decode()


def owner_from_metadata(value: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(value.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        return None


def _user_from_item(item: dict[str, Any]) -> User:
    try:
        return User(item["email"]["S"], item["name"]["S"], item["avatar_key"]["S"], item["created_at"]["S"])
    except KeyError:  # an item written by something else: tolerate missing attributes
        return User(item["email"]["S"], *(item.get(key, {}).get("S", "") for key in _OPTIONAL_ATTRIBUTES))


_OPTIONAL_ATTRIBUTES = ("name", "avatar_key", "created_at")


class UserStore:
    def __init__(
        self, clients: AwsClients, table: str, bucket: str, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._dynamodb = clients.dynamodb
        self._clients = clients  # S3 through here: its client is made on first use
        self._attempt_seconds = getattr(clients, "attempt_seconds", 4.0)
        self._sleep = sleep
        self.table = table
        self.bucket = bucket

    # --- one AWS call, retried within the request's deadline ---------------------------------------------

    def _call(self, dependency: str, operation: str, deadline: Deadline, call: Callable[[], T]) -> T:
        """``call()``; retried while another whole attempt fits in ``deadline``; failures become a 503.

        The 503 is ``ambiguous`` when any attempt may have been applied. ClientErrors that are answers (a
        condition failed, no such key) are raised as they are, for the caller to interpret.
        """
        ambiguous = False
        attempt = 0
        while True:
            if not deadline.allows(self._attempt_seconds):
                log.warning(
                    "aws call skipped: request deadline",
                    extra={"dependency": dependency, "operation": operation, "attempts": attempt},
                )
                raise DependencyUnavailable(dependency, ambiguous=ambiguous)
            attempt += 1
            try:
                return call()
            except (ClientError, BotoCoreError) as exc:
                ambiguous = ambiguous or _ambiguous(exc)
                if not _retryable(exc) or attempt >= MAX_ATTEMPTS:
                    if isinstance(exc, ClientError) and not _retryable(exc):
                        raise  # an answer: the caller decides what it means
                    self._log_failure(dependency, operation, exc, attempt)
                    raise DependencyUnavailable(dependency, ambiguous=ambiguous) from None
                self._log_failure(dependency, operation, exc, attempt)
                backoff = random.uniform(0, min(_BACKOFF_CAP_SECONDS, 0.05 * 2**attempt))  # noqa: S311  # full jitter, not a secret
                if not deadline.allows(backoff + self._attempt_seconds):
                    raise DependencyUnavailable(dependency, ambiguous=ambiguous) from None
                self._sleep(backoff)

    @staticmethod
    def _log_failure(dependency: str, operation: str, exc: Exception, attempt: int) -> None:
        reason = error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__
        log.warning(
            "aws call failed",
            extra={"dependency": dependency, "operation": operation, "aws_error": reason, "attempt": attempt},
        )

    def _answered(self, dependency: str, operation: str, deadline: Deadline, call: Callable[[], T]) -> T:
        """``_call`` where any ClientError left is a failure too (a 503), not an answer to interpret."""
        try:
            return self._call(dependency, operation, deadline, call)
        except ClientError as exc:
            self._log_failure(dependency, operation, exc, 0)
            raise DependencyUnavailable(dependency) from None

    # --- reads ---------------------------------------------------------------------------------------------

    def list_users(self, limit: int, after_email: str | None, deadline: Deadline) -> Page:
        """One page in table order: a Scan bounded by Limit, so its cost does not grow with the table.

        One item more than asked is read, so ``last_email`` is set only when more
        users really remain (DynamoDB's own LastEvaluatedKey also appears when a
        page ends exactly at the table's end).
        """
        params: dict[str, Any] = {"TableName": self.table, "Limit": limit + 1}
        if after_email is not None:
            params["ExclusiveStartKey"] = {"email": {"S": after_email}}
        result = self._answered(TABLE, "Scan", deadline, lambda: self._dynamodb.scan(**params))
        items = result.get("Items", [])
        users = [_user_from_item(item) for item in items[:limit]]
        if len(items) > limit:
            return Page(users=users, last_email=users[-1].email)
        last = result.get("LastEvaluatedKey")  # the 1 MB page cap came first: resume where DynamoDB stopped
        return Page(users=users, last_email=last["email"]["S"] if last else None)

    def get_user(self, email: str, deadline: Deadline) -> User:
        item = self._get_item(email, deadline)
        if item is None:
            raise UserNotFound()
        return _user_from_item(item)

    def _get_item(self, email: str, deadline: Deadline) -> dict[str, Any] | None:
        result = self._answered(
            TABLE,
            "GetItem",
            deadline,
            lambda: self._dynamodb.get_item(TableName=self.table, Key={"email": {"S": email}}, ConsistentRead=True),
        )
        item: dict[str, Any] | None = result.get("Item")
        return item

    # --- create --------------------------------------------------------------------------------------------

    def create_user(
        self, name: str, email: str, avatar: Avatar, deadline: Deadline, idempotency_key: str | None = None
    ) -> User:
        """Upload pending, put the user conditionally, finalise the upload.

        A create retried with the same ``idempotency_key`` after an answer it never
        got (a 503 that was in fact stored) returns the stored user instead of 409.
        """
        user = User(
            email=email,
            name=name,
            avatar_key=f"{AVATAR_PREFIX}{uuid.uuid4().hex}.{avatar.extension}",
            created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        )
        s3 = self._clients.s3
        try:
            self._answered(
                BUCKET,
                "PutObject",
                deadline,
                lambda: s3.put_object(
                    Bucket=self.bucket,
                    Key=user.avatar_key,
                    Body=avatar.data,
                    ContentType=avatar.content_type,
                    Tagging=pending_tagging("create"),
                    Metadata={OWNER_METADATA: owner_metadata(email)},
                ),
            )
        except DependencyUnavailable:
            # No user was written, so nothing can point at this key: removing it is safe. If even that fails the
            # object stays pending and expires.
            self._delete_unreferenced(user.avatar_key, deadline)
            raise
        try:
            stored = self._put_new_user(user, deadline, idempotency_key)
        except EmailTaken:
            self._delete_unreferenced(user.avatar_key, deadline)
            raise
        except DependencyUnavailable as exc:
            if not exc.ambiguous:
                self._delete_unreferenced(user.avatar_key, deadline)  # the put was definitely not applied
                raise
            # The put may still land (a late write): the upload is never deleted now. Either a consistent read
            # confirms the user, or the object stays pending for the avatar route, the reconciler or the lifecycle.
            if not self._confirmed(user, deadline):
                log.warning(
                    "upload left pending after an unconfirmed user write", extra={"avatar_key": user.avatar_key}
                )
                raise
            stored = user
        if stored.avatar_key != user.avatar_key:  # the same idempotent create, stored by an earlier attempt
            self._delete_unreferenced(user.avatar_key, deadline)
        self._finalise_quietly(stored.avatar_key, deadline)
        return stored

    def _put_new_user(self, user: User, deadline: Deadline, idempotency_key: str | None) -> User:
        """The stored user: ``user``, or the one an earlier attempt of the same create stored."""
        item = {
            "email": {"S": user.email},
            "name": {"S": user.name},
            "avatar_key": {"S": user.avatar_key},
            "created_at": {"S": user.created_at},
        }
        if idempotency_key is not None:
            item["idempotency_key"] = {"S": idempotency_key}
        try:
            self._call(
                TABLE,
                "PutItem",
                deadline,
                lambda: self._dynamodb.put_item(
                    TableName=self.table,
                    Item=item,
                    ConditionExpression="attribute_not_exists(email)",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                ),
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                self._log_failure(TABLE, "PutItem", exc, 0)
                raise DependencyUnavailable(TABLE) from None
            existing: dict[str, Any] = cast(dict[str, Any], exc.response).get("Item", {})
            if existing.get("avatar_key", {}).get("S") == user.avatar_key:
                return user  # our own earlier attempt, retried after its answer was lost
            if idempotency_key is not None and existing.get("idempotency_key", {}).get("S") == idempotency_key:
                return _user_from_item(existing)
            raise EmailTaken() from None
        return user

    def _confirmed(self, user: User, deadline: Deadline) -> bool:
        """After a put that got no answer: is this user stored, pointing at this upload?"""
        try:
            item = self._get_item(user.email, deadline)
        except ApiError:
            return False
        return item is not None and item.get("avatar_key", {}).get("S") == user.avatar_key

    # --- the object's state --------------------------------------------------------------------------------

    def _finalise_quietly(self, key: str, deadline: Deadline) -> None:
        """Remove the pending tags of an object a confirmed user points at. If that fails it stays pending:
        the avatar route finalises it on sight, the reconciler within its age; logged for an operator."""
        try:
            self._finalise(key, deadline)
        except ApiError:
            log.warning("avatar left pending: its user exists", extra={"avatar_key": key})

    def _finalise(self, key: str, deadline: Deadline) -> None:
        s3 = self._clients.s3
        self._answered(
            BUCKET, "DeleteObjectTagging", deadline, lambda: s3.delete_object_tagging(Bucket=self.bucket, Key=key)
        )

    def _delete_unreferenced(self, key: str, deadline: Deadline) -> None:
        """Delete an object no user can point at; if that fails it stays pending and expires (logged)."""
        s3 = self._clients.s3
        try:
            self._answered(BUCKET, "DeleteObject", deadline, lambda: s3.delete_object(Bucket=self.bucket, Key=key))
        except ApiError:
            log.warning("unreferenced avatar left pending; it expires", extra={"avatar_key": key})

    def pending_purpose(self, key: str, deadline: Deadline) -> str | None:
        """None for a final object; "create" or "delete" for a pending one. AvatarNotFound when it is gone."""
        s3 = self._clients.s3
        try:
            result = self._call(
                BUCKET, "GetObjectTagging", deadline, lambda: s3.get_object_tagging(Bucket=self.bucket, Key=key)
            )
        except ClientError as exc:
            if error_code(exc) in {"NoSuchKey", "404"}:
                raise AvatarNotFound() from None
            self._log_failure(BUCKET, "GetObjectTagging", exc, 0)
            raise DependencyUnavailable(BUCKET) from None
        tags = {tag["Key"]: tag["Value"] for tag in result.get("TagSet", [])}
        if tags.get(STATE_TAG) != PENDING:
            return None
        return tags.get(PENDING_FOR_TAG, "create")

    # --- delete --------------------------------------------------------------------------------------------

    def delete_user(self, email: str, deadline: Deadline) -> None:
        """Mark the avatar pending, delete the user if it still points at it, then delete the avatar.

        A retried DELETE converges (204 when the user is already gone), and a user
        re-created in between (with a new avatar) is neither deleted nor left
        pointing at nothing (409).
        """
        user = self.get_user(email, deadline)
        key = user.avatar_key
        if key:
            self._mark_for_deletion(key, deadline)
        try:
            self._call(
                TABLE,
                "DeleteItem",
                deadline,
                lambda: self._dynamodb.delete_item(
                    TableName=self.table,
                    Key={"email": {"S": email}},
                    ConditionExpression="avatar_key = :read",
                    ExpressionAttributeValues={":read": {"S": key}},
                ),
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                self._log_failure(TABLE, "DeleteItem", exc, 0)
                self._restore_quietly(key, deadline)
                raise DependencyUnavailable(TABLE) from None
            # Gone or replaced since we read it (or our own earlier attempt deleted it and its answer was lost).
            current = self._get_item(email, deadline)
            if key:
                self._delete_unreferenced(key, deadline)  # no user points at it any more: keys are never reused
            if current is not None:
                raise ConcurrentChange() from None
            return
        except DependencyUnavailable as exc:
            if not exc.ambiguous:
                self._restore_quietly(key, deadline)  # the user was definitely not deleted: it keeps its avatar
                raise
            # The delete may still land: the avatar stays pending (never restored now), unless a read proves the
            # user gone, in which case the object goes too.
            if key and not self._still_points_at(email, key, deadline):
                self._delete_unreferenced(key, deadline)
                return
            log.warning("avatar left pending after an unconfirmed user delete", extra={"avatar_key": key})
            raise
        if key:
            self._delete_unreferenced(key, deadline)

    def _mark_for_deletion(self, key: str, deadline: Deadline) -> None:
        s3 = self._clients.s3
        try:
            self._call(
                BUCKET,
                "PutObjectTagging",
                deadline,
                lambda: s3.put_object_tagging(
                    Bucket=self.bucket, Key=key, Tagging={"TagSet": pending_tag_set("delete")}
                ),
            )
        except ClientError as exc:
            if error_code(exc) in {"NoSuchKey", "404"}:
                return  # already gone (an earlier attempt of this DELETE): deleting the user completes it
            self._log_failure(BUCKET, "PutObjectTagging", exc, 0)
            raise DependencyUnavailable(BUCKET) from None
        except DependencyUnavailable as exc:
            if exc.ambiguous:  # the mark may have landed while the user stays: undo it if we can
                self._restore_quietly(key, deadline)
            raise

    def _restore_quietly(self, key: str, deadline: Deadline) -> None:
        if key:
            self._finalise_quietly(key, deadline)

    def _still_points_at(self, email: str, key: str, deadline: Deadline) -> bool:
        """True unless a consistent read proves no user points at ``key`` (an unreadable table counts as True)."""
        try:
            item = self._get_item(email, deadline)
        except ApiError:
            return True
        return item is not None and item.get("avatar_key", {}).get("S") == key

    # --- the avatar ----------------------------------------------------------------------------------------

    def avatar_download_url(self, email: str, ttl_seconds: int, deadline: Deadline) -> str:
        """A presigned URL of an avatar that exists: 404 ``avatar_not_found`` rather than a link to nothing.

        A pending avatar whose create was never finalised is finalised here: this
        consistent read proves its user exists and points at it.
        """
        user = self.get_user(email, deadline)
        if not user.avatar_key:
            raise AvatarNotFound()
        if self.pending_purpose(user.avatar_key, deadline) == "create":
            self._finalise_quietly(user.avatar_key, deadline)
        try:
            return self._clients.s3_presigner.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": user.avatar_key}, ExpiresIn=ttl_seconds
            )
        except (ClientError, BotoCoreError):
            log.warning("aws call failed", extra={"dependency": BUCKET, "operation": "presign"})
            raise DependencyUnavailable(BUCKET) from None
