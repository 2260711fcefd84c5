"""A tiny model registry on S3: versioned artifacts with metadata, checksums and shared links.

Every function that talks to AWS gets ``conn``: the keyword arguments for a boto3 client
(``endpoint_url``, ``region_name``, ``aws_access_key_id``, ``aws_secret_access_key``). Make
clients with ``boto3.client("s3", **conn)``; never read credentials from anywhere else.

Layout: version ``1.2.0`` of model ``churn`` is the object ``models/churn/1.2.0/model.bin``,
with user metadata ``sha256`` (hex digest of the bytes), ``metrics`` (the metrics dict as JSON)
and ``data-version`` (the training data version).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

PREFIX = "models"
ARTIFACT_NAME = "model.bin"
VERSION_PATTERN = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")


def artifact_key(name: str, version: str) -> str:
    """The object key of one version's artifact: ``models/<name>/<version>/model.bin``."""
    return f"{PREFIX}/{name}/{version}/{ARTIFACT_NAME}"


def _s3(conn: dict[str, str]) -> Any:
    # SigV4 everywhere: presigned links signed with SigV2 are refused by most regions.
    return boto3.client("s3", config=Config(signature_version="s3v4"), **conn)


def _semver(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def create_registry(conn: dict[str, str], bucket: str) -> None:
    """Task 1 (`bucket`): create a private, versioned bucket that encrypts objects by default.

    - create ``bucket`` in ``conn["region_name"]`` (us-east-1 takes no LocationConstraint,
      every other region needs one);
    - turn versioning on;
    - default encryption SSE-S3 (``AES256``);
    - all four public-access blocks on; no bucket policy or ACL that lets the public in.
    """
    s3 = _s3(conn)
    region = conn["region_name"]
    extra = {} if region == "us-east-1" else {
        "CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=bucket, **extra)
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True})
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})


def publish_model(conn: dict[str, str], bucket: str, name: str, version: str, artifact: bytes,
                  metrics: dict[str, float], data_version: str) -> str:
    """Tasks 2 and 3 (`upload`, `no-overwrite`): store one version; return its key.

    - ``version`` must look like ``1.2.0`` (three numbers), else raise ``ValueError``;
    - the object goes to ``artifact_key(name, version)`` with metadata ``sha256``, ``metrics``
      (``json.dumps(metrics)``) and ``data-version``, encrypted with ``AES256`` on the upload
      itself;
    - if that version already exists, raise ``FileExistsError`` and leave it untouched.
    """
    if not VERSION_PATTERN.match(version):
        raise ValueError(f"version {version!r} is not MAJOR.MINOR.PATCH")
    key = artifact_key(name, version)
    metadata = {"sha256": hashlib.sha256(artifact).hexdigest(),
                "metrics": json.dumps(metrics, sort_keys=True),
                "data-version": data_version}
    try:
        # If-None-Match: * makes S3 itself refuse the write when the key exists: no race
        # between a check and the upload.
        _s3(conn).put_object(Bucket=bucket, Key=key, Body=artifact, Metadata=metadata,
                             ServerSideEncryption="AES256", IfNoneMatch="*",
                             ContentType="application/octet-stream")
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("PreconditionFailed", "ConditionalRequestConflict"):
            raise FileExistsError(f"{name} {version} is already in the registry") from None
        raise
    return key


def list_versions(conn: dict[str, str], bucket: str, name: str) -> list[str]:
    """Task 4 (`versions`): every published version of ``name``, oldest (smallest) first."""
    prefix = f"{PREFIX}/{name}/"
    versions = []
    for page in _s3(conn).get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                     Prefix=prefix):
        for obj in page.get("Contents", []):
            version, _, rest = obj["Key"][len(prefix):].partition("/")
            if rest == ARTIFACT_NAME and VERSION_PATTERN.match(version):
                versions.append(version)
    return sorted(versions, key=_semver)


def latest_version(conn: dict[str, str], bucket: str, name: str) -> str:
    """Task 4 (`versions`): the highest version of ``name``; ``LookupError`` if there is none."""
    versions = list_versions(conn, bucket, name)
    if not versions:
        raise LookupError(f"no versions of {name!r} in {bucket}")
    return versions[-1]


def best_version(conn: dict[str, str], bucket: str, name: str, metric: str,
                 higher_is_better: bool = True) -> str:
    """Task 5 (`best`): the version with the best value of ``metric`` in its metadata.

    Versions without that metric are skipped; on a tie the higher version wins;
    ``LookupError`` if no version has the metric.
    """
    s3 = _s3(conn)
    best: tuple[float, tuple[int, ...], str] | None = None
    for version in list_versions(conn, bucket, name):
        head = s3.head_object(Bucket=bucket, Key=artifact_key(name, version))
        metrics = json.loads(head["Metadata"].get("metrics", "{}"))
        if metric not in metrics:
            continue
        value = float(metrics[metric])
        candidate = (value if higher_is_better else -value, _semver(version), version)
        if best is None or candidate > best:
            best = candidate
    if best is None:
        raise LookupError(f"no version of {name!r} reports {metric!r}")
    return best[2]


def download_model(conn: dict[str, str], bucket: str, name: str, version: str) -> bytes:
    """Task 6 (`download`): the artifact's bytes, after checking them against ``sha256``.

    Raise ``ValueError`` when the bytes do not match the checksum stored with them.
    """
    obj = _s3(conn).get_object(Bucket=bucket, Key=artifact_key(name, version))
    data: bytes = obj["Body"].read()
    expected = obj["Metadata"].get("sha256")
    actual = hashlib.sha256(data).hexdigest()
    if expected != actual:
        raise ValueError(f"{name} {version}: checksum mismatch (stored {expected}, got {actual})")
    return data


def presigned_url(conn: dict[str, str], bucket: str, name: str, version: str,
                  expires_in: int = 3600) -> str:
    """Task 7 (`presign`): a SigV4 link that downloads one version for ``expires_in`` seconds.

    Raise ``FileNotFoundError`` if that version is not in the registry.
    """
    s3 = _s3(conn)
    key = artifact_key(name, version)
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            raise FileNotFoundError(f"{name} {version} is not in the registry") from None
        raise
    url: str = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key},
                                         ExpiresIn=expires_in)
    return url


def registry_policy(bucket: str) -> dict[str, Any]:
    """Task 8 (`policy`): the least-privilege IAM identity policy for the registry's users.

    It allows exactly what the functions above need: reading and writing objects under
    ``models/`` in ``bucket`` and listing the bucket; no wildcard actions, no wildcard buckets.
    """
    bucket_arn = f"arn:aws:s3:::{bucket}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ReadAndPublishModelArtifacts", "Effect": "Allow",
             "Action": ["s3:GetObject", "s3:PutObject"],
             "Resource": f"{bucket_arn}/{PREFIX}/*"},
            {"Sid": "ListModelVersions", "Effect": "Allow", "Action": "s3:ListBucket",
             "Resource": bucket_arn,
             "Condition": {"StringLike": {"s3:prefix": [f"{PREFIX}/*"]}}},
        ],
    }
