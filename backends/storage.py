"""The users table and the avatar bucket: one component, used by every backend."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from .base import AVATAR_PREFIX

TABLE_KEY = "email"  # the app's identity; devtools/resources.py creates the same key schema locally
ABORT_INCOMPLETE_UPLOADS_AFTER_DAYS = 7
# The app tags an avatar state=pending while no confirmed user points at it (app/users_api/store.py); this rule
# expires such objects. 1 day is S3's shortest expiration. S3 counts it from the object's creation, rounds it up to
# the next midnight UTC, and removes expired objects asynchronously (AWS: "Expiring objects", "lifecycle rule delay").
PENDING_AVATAR_TAG = ("state", "pending")
EXPIRE_PENDING_AVATARS_AFTER_DAYS = 1


def tls_only_policy(bucket_arn: str) -> str:
    """Deny every request to the bucket that does not arrive over TLS."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, f"{bucket_arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


class Storage(pulumi.ComponentResource):
    """DynamoDB users table (key ``email``) and a private, encrypted S3 bucket for avatars."""

    def __init__(
        self,
        name: str,
        *,
        tags: Mapping[str, str],
        deletion_protection: bool,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("flask-platform:storage:Storage", name, None, opts)
        # With protection on, `pulumi destroy` leaves the data and its bucket's settings in AWS (retained, out of
        # the stack) instead of stopping at the protected table, halfway through removing everything else.
        child = pulumi.ResourceOptions(parent=self, retain_on_delete=deletion_protection)
        tags = dict(tags)

        self.table = aws.dynamodb.Table(
            f"{name}-users",
            billing_mode="PAY_PER_REQUEST",
            hash_key=TABLE_KEY,
            attributes=[aws.dynamodb.TableAttributeArgs(name=TABLE_KEY, type="S")],
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(enabled=True),
            deletion_protection_enabled=deletion_protection,
            tags=tags,
            opts=child,
        )
        self.bucket = aws.s3.Bucket(
            f"{name}-avatars",
            force_destroy=not deletion_protection,  # with protection off, `pulumi destroy` empties it
            tags=tags,
            opts=child,
        )
        bucket_child = pulumi.ResourceOptions(parent=self.bucket, retain_on_delete=deletion_protection)
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-avatars-public-access",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=bucket_child,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-avatars-ownership",
            bucket=self.bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=bucket_child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-avatars-encryption",
            bucket=self.bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="AES256"
                    ),
                )
            ],
            opts=bucket_child,
        )
        aws.s3.BucketPolicy(
            f"{name}-avatars-tls-only",
            bucket=self.bucket.id,
            policy=self.bucket.arn.apply(tls_only_policy),
            opts=pulumi.ResourceOptions(
                parent=self.bucket, depends_on=[public_access], retain_on_delete=deletion_protection
            ),
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-avatars-lifecycle",
            bucket=self.bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="abort-incomplete-multipart-uploads",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=ABORT_INCOMPLETE_UPLOADS_AFTER_DAYS
                    ),
                ),
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-pending-avatars",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(
                        and_=aws.s3.BucketLifecycleConfigurationRuleFilterAndArgs(
                            prefix=AVATAR_PREFIX, tags=dict([PENDING_AVATAR_TAG])
                        )
                    ),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                        days=EXPIRE_PENDING_AVATARS_AFTER_DAYS
                    ),
                ),
            ],
            opts=bucket_child,
        )
        self.register_outputs({"tableName": self.table.name, "bucketName": self.bucket.bucket})


def app_policy_statements(table_arn: str, bucket_arn: str) -> list[dict[str, object]]:
    """Exactly what the app does to its data: item actions on the table, object actions under avatars/."""
    return [
        {
            "Sid": "UsersTable",
            "Effect": "Allow",
            "Action": ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan"],
            "Resource": table_arn,
        },
        {
            "Sid": "AvatarObjects",
            "Effect": "Allow",
            # The object tagging actions mark an avatar pending and finalise it (PutObject with a Tagging header
            # needs s3:PutObjectTagging too); GetObjectTagging lets the avatar route check the object exists.
            "Action": [
                "s3:DeleteObject",
                "s3:DeleteObjectTagging",
                "s3:GetObject",
                "s3:GetObjectTagging",
                "s3:PutObject",
                "s3:PutObjectTagging",
            ],
            "Resource": f"{bucket_arn}/{AVATAR_PREFIX}*",
        },
    ]
