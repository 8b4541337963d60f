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
from typing import TYPE_CHECKING, Any, NamedTuple

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


class UserNotFound(ApiError):
    def __init__(self) -> None:
        super().__init__(404, "user_not_found", "no user is registered with this email")


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextmanager
def _calling(dependency: str, operation: str) -> Iterator[None]:
    """Turn any botocore failure into a 503 naming the dependency, logged without payloads."""
    try:
        yield
    except ClientError as exc:
        log.warning(
            "aws call failed", extra={"dependency": dependency, "operation": operation, "aws_error": _error_code(exc)}
        )
        raise DependencyUnavailable(dependency) from None
    except BotoCoreError as exc:
        log.warning(
            "aws call failed", extra={"dependency": dependency, "operation": operation, "aws_error": type(exc).__name__}
        )
        raise DependencyUnavailable(dependency) from None


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
        """One page in table order: a Scan bounded by Limit, so its cost does not grow with the table."""
        params: dict[str, Any] = {"TableName": self.table, "Limit": limit}
        if after_email is not None:
            params["ExclusiveStartKey"] = {"email": {"S": after_email}}
        with _calling(TABLE, "Scan"):
            result = self._dynamodb.scan(**params)
        users = [_user_from_item(item) for item in result.get("Items", [])]
        last = result.get("LastEvaluatedKey")
        return Page(users=users, last_email=last["email"]["S"] if last else None)

    def get_user(self, email: str) -> User:
        with _calling(TABLE, "GetItem"):
            result = self._dynamodb.get_item(TableName=self.table, Key={"email": {"S": email}}, ConsistentRead=True)
        item = result.get("Item")
        if item is None:
            raise UserNotFound()
        return _user_from_item(item)

    def create_user(self, name: str, email: str, avatar: Avatar) -> User:
        user = User(
            email=email,
            name=name,
            avatar_key=f"{AVATAR_PREFIX}{uuid.uuid4().hex}.{avatar.extension}",
            created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        )
        with _calling(BUCKET, "PutObject"):
            self._clients.s3.put_object(
                Bucket=self.bucket,
                Key=user.avatar_key,
                Body=avatar.data,
                ContentType=avatar.content_type,
            )
        try:
            self._put_new_user(user)
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
                    TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(email)"
                )
            except ClientError as exc:
                if _error_code(exc) == "ConditionalCheckFailedException":
                    raise EmailTaken() from None
                raise

    def _delete_avatar_quietly(self, key: str) -> None:
        """Roll back an upload; if even that fails, log the key so the orphan can be found."""
        try:
            self._clients.s3.delete_object(Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError):
            log.error("could not roll back avatar upload", extra={"avatar_key": key})

    def delete_user(self, email: str) -> None:
        """Avatar first, then the user: a retried DELETE always converges, and no object is orphaned."""
        user = self.get_user(email)
        if user.avatar_key:
            with _calling(BUCKET, "DeleteObject"):
                self._clients.s3.delete_object(Bucket=self.bucket, Key=user.avatar_key)
        with _calling(TABLE, "DeleteItem"):
            try:
                self._dynamodb.delete_item(
                    TableName=self.table, Key={"email": {"S": email}}, ConditionExpression="attribute_exists(email)"
                )
            except ClientError as exc:
                if _error_code(exc) == "ConditionalCheckFailedException":
                    raise UserNotFound() from None
                raise

    def avatar_download_url(self, email: str, ttl_seconds: int) -> str:
        user = self.get_user(email)
        if not user.avatar_key:
            raise ApiError(404, "avatar_not_found", "this user has no avatar")
        with _calling(BUCKET, "presign"):
            return self._clients.s3.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": user.avatar_key}, ExpiresIn=ttl_seconds
            )
