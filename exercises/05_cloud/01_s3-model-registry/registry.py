"""A tiny model registry on S3: versioned artifacts with metadata, checksums and shared links.

Every function that talks to AWS gets ``conn``: the keyword arguments for a boto3 client
(``endpoint_url``, ``region_name``, ``aws_access_key_id``, ``aws_secret_access_key``). Make
clients with ``boto3.client("s3", **conn)``; never read credentials from anywhere else.

Layout: version ``1.2.0`` of model ``churn`` is the object ``models/churn/1.2.0/model.bin``,
with user metadata ``sha256`` (hex digest of the bytes), ``metrics`` (the metrics dict as JSON)
and ``data-version`` (the training data version).
"""

from __future__ import annotations

# What the reference solution uses; delete what you do not need.
import hashlib  # noqa: F401
import json  # noqa: F401
import re
from typing import Any

import boto3  # noqa: F401
from botocore.config import Config  # noqa: F401
from botocore.exceptions import ClientError  # noqa: F401

PREFIX = "models"
ARTIFACT_NAME = "model.bin"
VERSION_PATTERN = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")


def artifact_key(name: str, version: str) -> str:
    """The object key of one version's artifact: ``models/<name>/<version>/model.bin``."""
    return f"{PREFIX}/{name}/{version}/{ARTIFACT_NAME}"


def create_registry(conn: dict[str, str], bucket: str) -> None:
    """Task 1 (`bucket`): create a private, versioned bucket that encrypts objects by default.

    - create ``bucket`` in ``conn["region_name"]`` (us-east-1 takes no LocationConstraint,
      every other region needs one);
    - turn versioning on;
    - default encryption SSE-S3 (``AES256``);
    - all four public-access blocks on; no bucket policy or ACL that lets the public in.
    """
    raise NotImplementedError


def publish_model(conn: dict[str, str], bucket: str, name: str, version: str, artifact: bytes,
                  metrics: dict[str, float], data_version: str) -> str:
    """Tasks 2 and 3 (`upload`, `no-overwrite`): store one version; return its key.

    - ``version`` must look like ``1.2.0`` (three numbers), else raise ``ValueError``;
    - the object goes to ``artifact_key(name, version)`` with metadata ``sha256``, ``metrics``
      (``json.dumps(metrics)``) and ``data-version``, encrypted with ``AES256`` on the upload
      itself;
    - if that version already exists, raise ``FileExistsError`` and leave it untouched.
    """
    raise NotImplementedError


def list_versions(conn: dict[str, str], bucket: str, name: str) -> list[str]:
    """Task 4 (`versions`): every published version of ``name``, oldest (smallest) first."""
    raise NotImplementedError


def latest_version(conn: dict[str, str], bucket: str, name: str) -> str:
    """Task 4 (`versions`): the highest version of ``name``; ``LookupError`` if there is none."""
    raise NotImplementedError


def best_version(conn: dict[str, str], bucket: str, name: str, metric: str,
                 higher_is_better: bool = True) -> str:
    """Task 5 (`best`): the version with the best value of ``metric`` in its metadata.

    Versions without that metric are skipped; on a tie the higher version wins;
    ``LookupError`` if no version has the metric.
    """
    raise NotImplementedError


def download_model(conn: dict[str, str], bucket: str, name: str, version: str) -> bytes:
    """Task 6 (`download`): the artifact's bytes, after checking them against ``sha256``.

    Raise ``ValueError`` when the bytes do not match the checksum stored with them.
    """
    raise NotImplementedError


def presigned_url(conn: dict[str, str], bucket: str, name: str, version: str,
                  expires_in: int = 3600) -> str:
    """Task 7 (`presign`): a SigV4 link that downloads one version for ``expires_in`` seconds.

    Raise ``FileNotFoundError`` if that version is not in the registry.
    """
    raise NotImplementedError


def registry_policy(bucket: str) -> dict[str, Any]:
    """Task 8 (`policy`): the least-privilege IAM identity policy for the registry's users.

    It allows exactly what the functions above need: reading and writing objects under
    ``models/`` in ``bucket`` and listing the bucket; no wildcard actions, no wildcard buckets.
    """
    raise NotImplementedError
