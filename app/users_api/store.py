"""Users in DynamoDB, avatars in S3, kept consistent with each other.

Create writes the avatar object first and then the user with a conditional put;
if the put fails for any reason the object is deleted again, so no avatar is
left without its user. Every AWS failure becomes an ApiError here, so the HTTP
layer never sees a botocore exception.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from botocore.exceptions import BotoCoreError, ClientError

from .aws import AwsClients
from .errors import ApiError, DependencyUnavailable

if TYPE_CHECKING:
    from .avatars import Avatar

log = logging.getLogger("users_api")

AVATAR_PREFIX = "avatars/"
TABLE = "DynamoDB"
BUCKET = "S3"


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


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextmanager
def _calling(dependency: str, operation: str) -> Iterator[None]:
    """Turn any botocore failure into a 503 naming the dependency, logged without payloads."""
    try:
        yield
    except ClientError as exc:
        log.warning(
            "aws call failed", extra={"dependency": dependency, "operation": operation, "aws_error": error_code(exc)}
        )
        raise DependencyUnavailable(dependency) from None
    except BotoCoreError as exc:  # timeouts, dropped connections: the request may have been applied
        log.warning(
            "aws call failed", extra={"dependency": dependency, "operation": operation, "aws_error": type(exc).__name__}
        )
        raise DependencyUnavailable(dependency, ambiguous=True) from None


def _user_from_item(item: dict[str, Any]) -> User:
    try:
        return User(item["email"]["S"], item["name"]["S"], item["avatar_key"]["S"], item["created_at"]["S"])
    except KeyError:  # an item written by something else: tolerate missing attributes
        return User(item["email"]["S"], *(item.get(key, {}).get("S", "") for key in _OPTIONAL_ATTRIBUTES))


_OPTIONAL_ATTRIBUTES = ("name", "avatar_key", "created_at")


class UserStore:
    def __init__(self, clients: AwsClients, table: str, bucket: str) -> None:
        self._dynamodb = clients.dynamodb
        self._clients = clients  # S3 through here: its client is made on first use
        self.table = table
        self.bucket = bucket

    def list_users(self, limit: int, after_email: str | None) -> Page:
        """One page in table order: a Scan bounded by Limit, so its cost does not grow with the table.

        One item more than asked is read, so ``last_email`` is set only when more
        users really remain (DynamoDB's own LastEvaluatedKey also appears when a
        page ends exactly at the table's end).
        """
        params: dict[str, Any] = {"TableName": self.table, "Limit": limit + 1}
        if after_email is not None:
            params["ExclusiveStartKey"] = {"email": {"S": after_email}}
        with _calling(TABLE, "Scan"):
            result = self._dynamodb.scan(**params)
        items = result.get("Items", [])
        users = [_user_from_item(item) for item in items[:limit]]
        if len(items) > limit:
            return Page(users=users, last_email=users[-1].email)
        last = result.get("LastEvaluatedKey")  # the 1 MB page cap came first: resume where DynamoDB stopped
        return Page(users=users, last_email=last["email"]["S"] if last else None)

    def get_user(self, email: str) -> User:
        item = self._get_item(email)
        if item is None:
            raise UserNotFound()
        return _user_from_item(item)

    def _get_item(self, email: str) -> dict[str, Any] | None:
        with _calling(TABLE, "GetItem"):
            result = self._dynamodb.get_item(TableName=self.table, Key={"email": {"S": email}}, ConsistentRead=True)
        item: dict[str, Any] | None = result.get("Item")
        return item

    def create_user(self, name: str, email: str, avatar: Avatar) -> User:
        """Upload, then a conditional put; any failure removes the upload unless the user was in fact written."""
        user = User(
            email=email,
            name=name,
            avatar_key=f"{AVATAR_PREFIX}{uuid.uuid4().hex}.{avatar.extension}",
            created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        )
        try:
            with _calling(BUCKET, "PutObject"):
                self._clients.s3.put_object(
                    Bucket=self.bucket,
                    Key=user.avatar_key,
                    Body=avatar.data,
                    ContentType=avatar.content_type,
                )
        except BaseException:
            # The answer may have been lost after S3 stored the object: deleting a missing key is harmless.
            self._delete_avatar_quietly(user.avatar_key)
            raise
        try:
            self._put_new_user(user)
        except EmailTaken:
            self._delete_avatar_quietly(user.avatar_key)
            raise
        except DependencyUnavailable as exc:
            written = self._written_despite_error(user) if exc.ambiguous else False
            if written:
                return user  # stored after all: only the answer was lost
            if written is False:
                self._delete_avatar_quietly(user.avatar_key)
            raise
        except BaseException:
            self._delete_avatar_quietly(user.avatar_key)
            raise
        return user

    def _put_new_user(self, user: User) -> None:
        item = {
            "email": {"S": user.email},
            "name": {"S": user.name},
            "avatar_key": {"S": user.avatar_key},
            "created_at": {"S": user.created_at},
        }
        with _calling(TABLE, "PutItem"):
            try:
                self._dynamodb.put_item(
                    TableName=self.table,
                    Item=item,
                    ConditionExpression="attribute_not_exists(email)",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except ClientError as exc:
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise
                existing: dict[str, Any] = cast(dict[str, Any], exc.response).get("Item", {})
                if existing.get("avatar_key", {}).get("S") == user.avatar_key:
                    return  # our own earlier attempt, retried by botocore after its answer was lost
                raise EmailTaken() from None

    def _written_despite_error(self, user: User) -> bool | None:
        """After a call that got no answer: is the user stored, pointing at this upload? None if unknowable.

        When even that cannot be read, the upload is kept (a user may point at
        it) and its key logged, so an operator can reconcile.
        """
        try:
            item = self._get_item(user.email)
        except ApiError:
            log.error("kept an upload whose user may exist", extra={"avatar_key": user.avatar_key})
            return None
        return item is not None and item.get("avatar_key", {}).get("S") == user.avatar_key

    def _delete_avatar_quietly(self, key: str) -> None:
        """Roll back an upload; if even that fails, log the key so the orphan can be found."""
        try:
            self._clients.s3.delete_object(Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError):
            log.error("could not roll back avatar upload", extra={"avatar_key": key})

    def delete_user(self, email: str) -> None:
        """Avatar first, then the user only if it still points at that avatar.

        A retried DELETE converges, and a user re-created in between (with a new
        avatar) is neither deleted nor left pointing at nothing.
        """
        user = self.get_user(email)
        if user.avatar_key:
            with _calling(BUCKET, "DeleteObject"):
                self._clients.s3.delete_object(Bucket=self.bucket, Key=user.avatar_key)
        with _calling(TABLE, "DeleteItem"):
            try:
                self._dynamodb.delete_item(
                    TableName=self.table,
                    Key={"email": {"S": email}},
                    ConditionExpression="avatar_key = :read",
                    ExpressionAttributeValues={":read": {"S": user.avatar_key}},
                )
            except ClientError as exc:
                if error_code(exc) == "ConditionalCheckFailedException":
                    raise ConcurrentChange() from None
                raise

    def avatar_download_url(self, email: str, ttl_seconds: int) -> str:
        user = self.get_user(email)
        if not user.avatar_key:
            raise ApiError(404, "avatar_not_found", "this user has no avatar")
        with _calling(BUCKET, "presign"):
            return self._clients.s3_presigner.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": user.avatar_key}, ExpiresIn=ttl_seconds
            )
