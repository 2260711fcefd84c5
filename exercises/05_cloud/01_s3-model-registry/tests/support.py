"""Trusted helpers for s3-model-registry: the emulator, seeded registries and the grader's checks.

Everything here runs in the grader's process. The learner's functions only ever receive a
``conn`` dict (endpoint, region, dummy credentials) and plain values; what they did is judged
from the emulator's state, read with the grader's own boto3 client.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import hmac
import json
import random
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from grader.engine import cloud_emulator

PREFIX = "models"
ARTIFACT_NAME = "model.bin"
VERSION = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
ENCRYPTIONS = ("AES256", "aws:kms", "aws:kms:dsse")

# -- the emulator and the grader's downloads (grader/engine/cloud_emulator.py) ---------------------

# Names the tests use as support.X: one emulator and one bounded download for both cloud
# exercises.
Emulator = cloud_emulator.Emulator
EmulatorError = cloud_emulator.EmulatorError
FetchRefused = cloud_emulator.FetchRefused
Fetched = cloud_emulator.Fetched
fetch = cloud_emulator.fetch
shared_emulator = cloud_emulator.shared_emulator
ADMIN_HEADER = cloud_emulator.ADMIN_HEADER
FETCH_SECONDS = cloud_emulator.FETCH_SECONDS
FETCH_BYTES = cloud_emulator.FETCH_BYTES
URL_CHARS = cloud_emulator.URL_CHARS


def warm_up(submission: Any, function: str, modules: tuple[str, ...] = ("boto3",)) -> None:
    """Start the learner's worker while the emulator boots and the grader imports its libraries."""
    cloud_emulator.warm_up(submission, function, modules)


# -- registry contents ---------------------------------------------------------------------------


def artifact_key(name: str, version: str) -> str:
    """Where the artifact of one version lives."""
    return f"{PREFIX}/{name}/{version}/{ARTIFACT_NAME}"


def semver(version: str) -> tuple[int, int, int]:
    """(major, minor, patch) as integers."""
    major, minor, patch = version.split(".")
    return int(major), int(minor), int(patch)


@dataclass(frozen=True)
class Entry:
    """One published version: what was uploaded and the metadata that goes with it."""

    name: str
    version: str
    artifact: bytes
    metrics: dict[str, float]
    data_version: str

    @property
    def key(self) -> str:
        return artifact_key(self.name, self.version)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.artifact).hexdigest()


def make_entry(seed: int, name: str, version: str) -> Entry:
    """A version with random bytes and plausible metrics, different for every seed."""
    rng = random.Random(f"{seed}/{name}/{version}")
    artifact = rng.randbytes(rng.randint(2_000, 40_000))
    metrics = {"auc": round(rng.uniform(0.70, 0.95), 4),
               "log_loss": round(rng.uniform(0.20, 0.60), 4)}
    return Entry(name, version, artifact, metrics,
                 f"customers-{rng.randint(2024, 2026)}-{rng.randint(1, 12):02d}")


def versions_for(seed: int) -> list[str]:
    """Six to eight versions in which text order and version order disagree (1.9 < 1.10)."""
    rng = random.Random(f"versions/{seed}")
    major = rng.randint(0, 2)
    chosen = {f"{major}.9.{rng.randint(0, 3)}", f"{major}.10.{rng.randint(0, 3)}"}
    while len(chosen) < rng.randint(6, 8):
        chosen.add(f"{rng.randint(0, 2)}.{rng.randint(0, 12)}.{rng.randint(0, 12)}")
    return sorted(chosen, key=semver)


def put_entry(s3: Any, bucket: str, entry: Entry, *, sha256: str | None = None) -> None:
    """Store a version exactly as the README's layout says (the grader's own upload)."""
    s3.put_object(Bucket=bucket, Key=entry.key, Body=entry.artifact,
                  ServerSideEncryption="AES256",
                  Metadata={"sha256": sha256 or entry.sha256,
                            "metrics": json.dumps(entry.metrics, sort_keys=True),
                            "data-version": entry.data_version})


@dataclass(frozen=True)
class Seeded:
    """A registry the grader filled itself: one model's versions plus distractors."""

    bucket: str
    name: str
    entries: tuple[Entry, ...]  # ascending version order
    corrupt: Entry  # stored with a sha256 that does not match its bytes

    def best(self, metric: str, higher_is_better: bool) -> str:
        """The version with the best value of ``metric``; later versions win ties."""
        scored = [(e.metrics[metric] if higher_is_better else -e.metrics[metric], semver(e.version),
                   e.version) for e in self.entries if metric in e.metrics]
        return max(scored)[2]


def seed_registry(aws: Emulator, region: str, seed: int, name: str, *,
                  drop_metric: str | None = None) -> Seeded:
    """Fill a fresh bucket: ``name``'s versions (uploaded shuffled), a model whose name starts
    the same way, a stray file, and a version of another model whose checksum does not match."""
    s3 = aws.client("s3", region)
    bucket = aws.grader_bucket(region, "seeded")
    rng = random.Random(f"seed_registry/{seed}/{name}")
    versions = versions_for(seed)
    entries = [make_entry(seed, name, v) for v in versions]
    metrics = [e.metrics for e in entries]
    if max(range(len(entries)), key=lambda i: metrics[i]["auc"]) == len(entries) - 1:
        metrics[0], metrics[-1] = metrics[-1], metrics[0]  # the best is never simply the latest
    if drop_metric:  # a version without the metric must be skipped, not scored as 0
        gap = rng.randrange(len(entries) - 1)
        metrics[gap] = {k: v for k, v in metrics[gap].items() if k != drop_metric}
    entries = [dataclasses.replace(e, metrics=m) for e, m in zip(entries, metrics, strict=True)]
    for entry in rng.sample(entries, len(entries)):
        put_entry(s3, bucket, entry)
    put_entry(s3, bucket, make_entry(seed, f"{name}-experimental", "9.0.0"))
    s3.put_object(Bucket=bucket, Key=f"{PREFIX}/{name}/README.md", Body=b"notes",
                  ServerSideEncryption="AES256")
    corrupt = make_entry(seed, f"{name}-legacy", "1.0.0")
    put_entry(s3, bucket, corrupt, sha256=hashlib.sha256(b"something else").hexdigest())
    return Seeded(bucket, name, tuple(entries), corrupt)


def versions_problem(got: object, expected: list[str], name: str) -> str | None:
    """What is wrong with a version list, in terms of the learner's own answer only."""
    if type(got) is not list or not all(type(v) is str for v in got):
        return f"list_versions() returned {type(got).__name__}; it must return a list of strings"
    if got == expected:
        return None
    extra = [v for v in got if v not in expected]
    if extra:
        return (f"list_versions(conn, bucket, {name!r}) lists {extra[:3]}, which are not published "
                f"versions of {name!r}. List with Prefix='{PREFIX}/{name}/' (mind the final "
                f"slash: other models' names may start with '{name}') and keep only keys that "
                f"end in '/{ARTIFACT_NAME}'")
    if len(got) != len(set(got)):
        return "list_versions() lists a version more than once"
    if set(got) != set(expected):
        return (f"list_versions() found {len(got)} of the {len(expected)} versions published in "
                "the bucket; read every page of the listing (a paginator does that)")
    if got == sorted(got):
        return ("list_versions() sorts versions as text, so '1.10.0' comes before '1.9.0'. "
                "Sort by (major, minor, patch) as integers")
    return "list_versions() returns the right versions, but not in ascending version order"


# -- what the grader checks on the learner's bucket ---------------------------------------------

BUCKET_RULES = {
    "S3001": "versioning is enabled",
    "S3002": "new objects are encrypted by default",
    "S3003": "all four public-access blocks are on",
    "S3004": "nothing in the bucket is readable by the public",
}
PUBLIC_GROUPS = ("http://acs.amazonaws.com/groups/global/AllUsers",
                 "http://acs.amazonaws.com/groups/global/AuthenticatedUsers")
PAB_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def _error_code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def bucket_report(aws: Emulator, bucket: str, region: str) -> dict[str, list[str]]:
    """Problems per rule ID for a bucket the learner's create_registry() made."""
    from botocore.exceptions import ClientError

    s3 = aws.client("s3", region)
    report: dict[str, list[str]] = {rule: [] for rule in BUCKET_RULES}
    try:
        location = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint") or "us-east-1"
    except ClientError as exc:
        missing = (f"there is no bucket {bucket!r} in the emulator after create_registry() "
                   f"returned ({_error_code(exc)})")
        return {rule: [missing] for rule in BUCKET_RULES}
    if location != region:
        report["S3001"].append(f"the bucket is in {location}, not in the region of conn "
                               f"({region})")
    status = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    if status != "Enabled":
        report["S3001"].append(f"versioning is {status or 'off'}: turn it on with "
                               "put_bucket_versioning so no upload can destroy an old artifact")
    try:
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
        algos = [r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm")
                 for r in rules.get("Rules", [])]
        if not any(a in ENCRYPTIONS for a in algos):
            report["S3002"].append(f"the default encryption rule names {algos}, not AES256 or "
                                   "aws:kms")
    except ClientError as exc:
        report["S3002"].append(f"the bucket has no default encryption ({_error_code(exc)}): set "
                               "it with put_bucket_encryption (SSEAlgorithm 'AES256')")
    try:
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        off = [flag for flag in PAB_FLAGS if block.get(flag) is not True]
        if off:
            report["S3003"].append(f"{', '.join(off)} {'is' if len(off) == 1 else 'are'} not "
                                   "on")
    except ClientError:
        report["S3003"].append("the bucket has no public access block: add one with "
                               "put_public_access_block, all four settings True")
    report["S3004"] += _public_problems(aws, s3, bucket)
    return report


def severe_bucket_problem(report: dict[str, list[str]]) -> str:
    """Why the whole bucket task counts nothing, or "": a bucket the public can read leaks every
    model in it, whatever else is set up right (the README's severity rubric)."""
    if not report["S3004"] or all(report[rule] == report["S3004"] for rule in report):
        return ""  # no leak, or no bucket at all (each rule already says so)
    return ("not counted: the bucket is readable by the public (S3004), which on AWS leaks every "
            "model in it; the bucket's other settings cannot make up for that.")


def _public_problems(aws: Emulator, s3: Any, bucket: str) -> list[str]:
    from botocore.exceptions import ClientError

    problems = []
    try:
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except ClientError:
        policy = None
    for i, statement in enumerate(_statements(policy) if policy else []):
        if statement.get("Effect") == "Allow" and _public_principal(statement.get("Principal")) \
                and not statement.get("Condition"):
            label = statement.get("Sid") or f"#{i + 1}"
            actions = statement.get("Action")
            problems.append(f"bucket policy statement {label!r} allows everyone (Principal '*') "
                            f"{actions}: anyone who guesses a key can download your models. "
                            "Remove it, and share single models with presigned URLs instead")
    for grant in s3.get_bucket_acl(Bucket=bucket).get("Grants", []):
        if grant.get("Grantee", {}).get("URI") in PUBLIC_GROUPS:
            problems.append(f"the bucket ACL grants {grant.get('Permission')} to "
                            f"{grant['Grantee']['URI'].rsplit('/', 1)[-1]}: keep the ACL private")
    probe = f"{PREFIX}/_grader_probe/{secrets.token_hex(4)}.bin"
    try:
        s3.put_object(Bucket=bucket, Key=probe, Body=b"probe", ServerSideEncryption="AES256")
    except ClientError:
        probe = ""
    if probe and aws.anonymous_get(f"{bucket}/{probe}") == 200:
        problems.append("a request without any credentials downloaded an object from the bucket")
    return problems


def _public_principal(principal: object) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        aws = principal.get("AWS")
        return aws == "*" or (isinstance(aws, list) and "*" in aws)
    return False


def _statements(doc: object) -> list[dict[str, Any]]:
    statements = doc.get("Statement") if isinstance(doc, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    return [s for s in statements if isinstance(s, dict)] if isinstance(statements, list) else []


# -- the learner's uploads -------------------------------------------------------------------------


def upload_problems(aws: Emulator, region: str, bucket: str, entry: Entry,
                    returned: object) -> dict[str, list[str]]:
    """Problems per part ("stored", "metadata", "encryption") of one publish_model() call."""
    from botocore.exceptions import ClientError

    s3 = aws.client("s3", region)
    parts: dict[str, list[str]] = {"stored": [], "metadata": [], "encryption": []}
    try:
        obj = s3.get_object(Bucket=bucket, Key=entry.key)
    except ClientError:
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
        where = f"; the bucket holds {keys[:3]}" if keys else "; the bucket is empty"
        missing = (f"no object at {entry.key!r} after publish_model() returned{where}. Store "
                   f"each version at '{PREFIX}/<name>/<version>/{ARTIFACT_NAME}'")
        return {part: [missing] for part in parts}
    body = obj["Body"].read()
    if body != entry.artifact:
        parts["stored"].append(f"the stored object has {len(body)} bytes, not the "
                               f"{len(entry.artifact)} bytes of the artifact you were given")
    if returned != entry.key:
        parts["stored"].append(f"publish_model() returned {returned!r}; return the key it wrote")
    meta = obj.get("Metadata", {})
    if meta.get("sha256") != entry.sha256:
        parts["metadata"].append("metadata 'sha256' is missing or is not the hex SHA-256 of the "
                                 "artifact's bytes (hashlib.sha256(artifact).hexdigest())")
    try:
        metrics = json.loads(meta.get("metrics", ""))
    except ValueError:
        metrics = None
    if metrics != entry.metrics:
        parts["metadata"].append("metadata 'metrics' is missing or is not the metrics dict as JSON "
                                 "(json.dumps(metrics))")
    if meta.get("data-version") != entry.data_version:
        parts["metadata"].append("metadata 'data-version' is missing or is not the training "
                                 "data version you were given")
    sse = obj.get("ServerSideEncryption")
    if sse not in ENCRYPTIONS:
        parts["encryption"].append("the object was stored without server-side encryption (no "
                                   "x-amz-server-side-encryption on it). Ask for it on every "
                                   "upload: put_object(..., ServerSideEncryption='AES256'); a "
                                   "registry must not depend on how someone set up the bucket")
    return parts


def stored_versions(aws: Emulator, region: str, bucket: str, key: str) -> list[bytes]:
    """The bytes of every S3 version of ``key``, the current one last (the grader's bucket is
    versioned, so an overwrite leaves a trace)."""
    s3 = aws.client("s3", region)
    listing = s3.list_object_versions(Bucket=bucket, Prefix=key)
    versions = [v for v in listing.get("Versions", []) if v["Key"] == key]
    # S3 lists the versions of a key newest first; IsLatest marks the current one for sure.
    versions.sort(key=lambda v: bool(v.get("IsLatest")))
    return [s3.get_object(Bucket=bucket, Key=key, VersionId=v["VersionId"])["Body"].read()
            for v in versions]


# -- presigned links -----------------------------------------------------------------------------


def presign_problems(aws: Emulator, url: object, *, region: str, bucket: str, key: str,
                     expires: int, artifact: bytes) -> list[str]:
    """What is wrong with a presigned GET link: it must work, be SigV4, expire as asked."""
    if type(url) is not str:
        return [f"presigned_url() returned {type(url).__name__}; return the URL as a string"]
    if len(url) > URL_CHARS:
        return [f"downloading the link: the link is {len(url)} characters long; a presigned link "
                "is a few hundred"]
    problems = []
    try:
        status, body = fetch(url, aws.endpoint_url).as_pair()
    except FetchRefused as exc:
        problems.append(f"downloading the link: {exc}")
    else:
        if status != 200:
            problems.append(f"downloading the link answered HTTP {status}")
        elif body != artifact:
            problems.append("the link downloads something other than that version's artifact")
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}" != aws.endpoint_url:
        problems.append("the link does not point at the endpoint in conn['endpoint_url']")
    if parts.path != f"/{bucket}/{quote(key)}":
        problems.append(f"the link is for {parts.path!r}, not for the artifact of that version")
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if "Signature" in query or "AWSAccessKeyId" in query:
        problems.append("the link is signed with the old Signature Version 2, which most regions "
                        "refuse; make the client with botocore.config.Config("
                        "signature_version='s3v4')")
        return problems
    if query.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
        problems.append("the link carries no SigV4 signature (X-Amz-Algorithm=AWS4-HMAC-SHA256): "
                        "make it with generate_presigned_url('get_object', ...)")
        return problems
    if query.get("X-Amz-Expires") != str(expires):
        problems.append(f"the link expires after {query.get('X-Amz-Expires')} s, not after the "
                        f"{expires} s asked for (ExpiresIn)")
    if not _sigv4_valid(parts, query, aws.access_key, aws.secret_key, region):
        problems.append("the link's signature is not valid for the credentials in conn: sign it "
                        "with a client made from conn, and do not edit the URL afterwards")
    return problems


def _sigv4_valid(parts: Any, query: dict[str, str], access_key: str, secret: str,
                 region: str) -> bool:
    """Recompute a presigned GET's SigV4 signature with the grader's copy of the secret."""
    signature = query.get("X-Amz-Signature", "")
    credential = query.get("X-Amz-Credential", "").split("/")
    amz_date = query.get("X-Amz-Date", "")
    if len(credential) != 5 or credential[0] != access_key or credential[2] != region or \
            credential[3] != "s3" or query.get("X-Amz-SignedHeaders") != "host":
        return False
    day = credential[1]

    def enc(text: str) -> str:
        return quote(text, safe="-_.~")

    canonical_query = "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(query.items())
                               if k != "X-Amz-Signature")
    canonical = "\n".join(["GET", parts.path or "/", canonical_query, f"host:{parts.netloc}",
                           "", "host", "UNSIGNED-PAYLOAD"])
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = f"AWS4{secret}".encode()
    for part in (day, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


# -- the IAM policy ------------------------------------------------------------------------------

POLICY_RULES = {
    "IAM001": "no wildcard actions",
    "IAM002": "no wildcard resources",
    "IAM003": "no NotAction, NotResource or Principal",
    "IAM004": "only the actions the registry needs",
    "IAM005": "every action the registry needs",
    "IAM006": "resources stay inside the registry",
    "IAM007": "a valid identity policy document",
}
NEEDED_OBJECT_ACTIONS = ("s3:GetObject", "s3:PutObject")
NEEDED_BUCKET_ACTIONS = ("s3:ListBucket",)
ALLOWED_ACTIONS = frozenset(a.lower() for a in (
    *NEEDED_OBJECT_ACTIONS, *NEEDED_BUCKET_ACTIONS, "s3:GetObjectVersion",
    "s3:GetBucketLocation"))


SEVERE_POLICY_RULES = ("IAM001", "IAM002", "IAM003")


def severe_policy_problem(report: dict[str, list[str]]) -> str:
    """Why the whole policy task counts nothing, or "": a wildcard or a principal in the policy
    grants what no review would sign off (the README's severity rubric)."""
    broken = [rule for rule in SEVERE_POLICY_RULES if report[rule] and not report["IAM007"]]
    if not broken:
        return ""
    return (f"not counted: the policy fails {', '.join(broken)} (wildcards, NotAction/"
            "NotResource or a Principal), so it grants far more than the registry needs and a "
            "security review would reject it whole.")


def _as_list(value: object) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def policy_report(aws: Emulator, doc: object, bucket: str) -> dict[str, list[str]]:
    """Problems per rule ID for the identity policy the learner's registry_policy() returned."""
    report: dict[str, list[str]] = {rule: [] for rule in POLICY_RULES}
    report["IAM007"] = _validity_problems(aws, doc)
    statements = _statements(doc)
    if report["IAM007"] and not statements:
        first = "fix IAM007 first: the document has no statements this rule could check"
        return {rule: problems or [first] for rule, problems in report.items()}
    allows = [s for s in statements if s.get("Effect") == "Allow"]
    bucket_arn = f"arn:aws:s3:::{bucket}"
    objects_arn = f"{bucket_arn}/{PREFIX}/"
    for st in allows:
        label = repr(st.get("Sid")) if st.get("Sid") else f"#{statements.index(st) + 1}"
        for action in _as_list(st.get("Action")):
            if isinstance(action, str) and ("*" in action or "?" in action):
                report["IAM001"].append(f"statement {label} allows {action!r}")
            elif isinstance(action, str) and action.lower() not in ALLOWED_ACTIONS:
                report["IAM004"].append(f"statement {label} allows {action!r}, which the "
                                        "registry never needs")
        for key in ("NotAction", "NotResource", "Principal", "NotPrincipal"):
            if key in st:
                report["IAM003"].append(f"statement {label} uses {key}")
        for resource in _as_list(st.get("Resource")):
            if not isinstance(resource, str):
                continue
            head = resource.split("/", 1)[0]
            if resource == "*" or "*" in head or "?" in head:
                report["IAM002"].append(f"statement {label} allows resource {resource!r}")
            elif resource != bucket_arn and not resource.startswith(objects_arn):
                report["IAM006"].append(f"statement {label} allows resource {resource!r}, "
                                        f"outside {bucket_arn} and its {PREFIX}/ prefix")
    samples = [(a, f"{objects_arn}churn/1.2.0/{ARTIFACT_NAME}") for a in NEEDED_OBJECT_ACTIONS]
    samples += [(a, bucket_arn) for a in NEEDED_BUCKET_ACTIONS]
    for action, resource in samples:
        if not _allowed(statements, action, resource):
            report["IAM005"].append(f"{action} on {resource} is not allowed")
    return report


def _validity_problems(aws: Emulator, doc: object) -> list[str]:
    if not isinstance(doc, dict):
        return [f"registry_policy() returned {type(doc).__name__}; return the policy as a dict"]
    problems = []
    if doc.get("Version") != "2012-10-17":
        problems.append("'Version' must be '2012-10-17' (the only version that supports "
                        "policy variables and current features)")
    raw = doc.get("Statement")
    if not isinstance(raw, (list, dict)) or not _statements(doc):
        problems.append("'Statement' must be a non-empty list of statements")
    for i, st in enumerate(_statements(doc)):
        if st.get("Effect") not in ("Allow", "Deny"):
            problems.append(f"statement #{i + 1}: 'Effect' must be 'Allow' or 'Deny'")
        if "Action" not in st and "NotAction" not in st:
            problems.append(f"statement #{i + 1} has no 'Action'")
        if "Resource" not in st and "NotResource" not in st:
            problems.append(f"statement #{i + 1} has no 'Resource' (an identity policy names "
                            "what it applies to)")
    if problems:
        return problems
    try:
        aws.client("iam", "us-east-1").create_policy(
            PolicyName=aws.name("registry-policy"), PolicyDocument=json.dumps(doc))
    except Exception as exc:  # the emulator's IAM validator: MalformedPolicyDocument and kin
        message = getattr(exc, "response", {}).get("Error", {}).get("Message", str(exc))
        problems.append(f"IAM refused the document: {message}")
    return problems


def _allowed(statements: list[dict[str, Any]], action: str, resource: str) -> bool:
    """Whether the statements allow ``action`` on ``resource`` (conditions assumed to hold;
    a Deny counts only when it has no condition)."""

    def matches(st: dict[str, Any]) -> bool:
        actions = [a for a in _as_list(st.get("Action")) if isinstance(a, str)]
        resources = [r for r in _as_list(st.get("Resource")) if isinstance(r, str)]
        return any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in actions) and \
            any(fnmatch.fnmatchcase(resource, r) for r in resources)

    if any(st.get("Effect") == "Deny" and not st.get("Condition") and matches(st)
           for st in statements):
        return False
    return any(st.get("Effect") == "Allow" and matches(st) for st in statements)
