"""Public tests for s3-model-registry: your functions against the grader's own emulator.

A fresh moto server starts on 127.0.0.1 for each grading run. Your functions receive its
address, a region and dummy credentials as ``conn``; afterwards the grader inspects the
emulator itself with its own boto3 client (buckets, objects, metadata, encryption, versions)
and downloads your presigned links. Each task is graded on its own: where a task needs a
registry that already holds versions, the grader fills one itself, following the README's layout.
"""

import pytest

from grader.testing import SubmissionRaised, expect

REGION = "eu-west-1"  # not us-east-1: creating a bucket here needs a LocationConstraint
MODEL = "churn"


@pytest.fixture(scope="session")
def aws(support, request, submission):
    """This grading's emulator (one per run, stopped when the run ends)."""
    emulator = support.shared_emulator(request)
    support.warm_up(submission, "create_registry")  # your worker starts while the emulator boots
    return emulator


@pytest.fixture(scope="module")
def learner_bucket(submission, aws):
    bucket = aws.name("registry")
    submission.create_registry(aws.conn(REGION), bucket)
    return bucket


@pytest.fixture(scope="module")
def bucket_report(support, aws, learner_bucket):
    return support.bucket_report(aws, learner_bucket, REGION)


# fails for: lazy-constants, public-read-policy
@pytest.mark.task("bucket")
@pytest.mark.points(1)
@pytest.mark.parametrize("rule", ["S3001", "S3002", "S3003", "S3004"])
def test_registry_bucket(support, bucket_report, rule):
    problems = bucket_report[rule]
    expect(not problems, f"create_registry(conn, bucket): {rule} ({support.BUCKET_RULES[rule]}) "
                         f"fails: {'; '.join(problems)}")
    expect(not support.severe_bucket_problem(bucket_report), support.severe_bucket_problem(
        bucket_report) + f" So {rule} does not count either")


@pytest.fixture(scope="module")
def published(submission, support, aws, grading_seed):
    bucket = aws.grader_bucket(REGION)
    entry = support.make_entry(grading_seed, MODEL, "1.4.0")
    returned = submission.publish_model(aws.conn(REGION), bucket, entry.name, entry.version,
                                        entry.artifact, entry.metrics, entry.data_version)
    return support.upload_problems(aws, REGION, bucket, entry, returned)


# fails for: lazy-constants, no-encryption
@pytest.mark.task("upload")
@pytest.mark.points(1)
@pytest.mark.parametrize("part", ["stored", "metadata", "encryption"])
def test_publish_model(published, part):
    problems = published[part]
    expect(not problems, f"publish_model(conn, bucket, 'churn', '1.4.0', <artifact>, <metrics>, "
                         f"<data version>) into an empty bucket ({part}): {'; '.join(problems)}")


# fails for: lazy-constants, overwrites-version
@pytest.mark.task("no-overwrite")
@pytest.mark.points(2)
def test_publishing_an_existing_version_is_refused(submission, support, aws, grading_seed):
    conn, bucket = aws.conn(REGION), aws.grader_bucket(REGION)
    first = support.make_entry(grading_seed, "fraud", "2.0.0")
    again = support.make_entry(grading_seed + 1, "fraud", "2.0.0")
    submission.publish_model(conn, bucket, first.name, first.version, first.artifact,
                             first.metrics, first.data_version)
    raised = ""
    try:
        submission.publish_model(conn, bucket, again.name, again.version, again.artifact,
                                 again.metrics, again.data_version)
    except SubmissionRaised as exc:
        raised = exc.exc_type
    stored = support.stored_versions(aws, REGION, bucket, first.key)
    expect(stored[-1:] == [first.artifact],
           "publishing 'fraud' 2.0.0 a second time replaced the artifact that was there: a "
           "registry must never overwrite a published version. Check first (head_object), or "
           "better let S3 refuse the write: put_object(..., IfNoneMatch='*')")
    expect(len(stored) == 1,
           f"publishing 'fraud' 2.0.0 a second time wrote {len(stored) - 1} more S3 version(s) of "
           "its key before putting the old bytes back; refuse before writing anything")
    expect(raised == "FileExistsError",
           f"publishing 'fraud' 2.0.0 a second time {'raised ' + raised if raised else 'returned'}"
           "; raise FileExistsError so the caller knows the version exists")
    newer = support.make_entry(grading_seed, "fraud", "2.0.1")
    submission.publish_model(conn, bucket, newer.name, newer.version, newer.artifact,
                             newer.metrics, newer.data_version)
    expect(support.stored_versions(aws, REGION, bucket, newer.key) == [newer.artifact],
           "after refusing 2.0.0 again, publishing a new version 2.0.1 must still work")


@pytest.fixture(scope="module")
def seeded(support, aws, grading_seed):
    return support.seed_registry(aws, REGION, grading_seed, MODEL)


# fails for: lazy-constants
@pytest.mark.task("versions")
@pytest.mark.points(1)
def test_list_versions(submission, support, aws, seeded):
    got = submission.list_versions(aws.conn(REGION), seeded.bucket, MODEL)
    problem = support.versions_problem(got, [e.version for e in seeded.entries], MODEL)
    expect(problem is None, problem)


# fails for: lazy-constants
@pytest.mark.task("versions")
@pytest.mark.points(1)
def test_latest_version(submission, aws, seeded):
    got = submission.latest_version(aws.conn(REGION), seeded.bucket, MODEL)
    expect(got == seeded.entries[-1].version,
           f"latest_version(conn, bucket, 'churn') returned {got!r}, which is not the highest "
           "published version of 'churn'. Versions compare as numbers: 1.10.0 > 1.9.0")


# fails for: lazy-constants
@pytest.mark.task("best")
@pytest.mark.points(1)
def test_best_version_by_auc(submission, aws, seeded):
    got = submission.best_version(aws.conn(REGION), seeded.bucket, MODEL, "auc", True)
    expect(got == seeded.best("auc", True),
           f"best_version(conn, bucket, 'churn', 'auc', higher_is_better=True) returned {got!r}, "
           "which is not the version with the highest 'auc' in its metadata. Read each version's "
           "metrics with head_object(...)['Metadata'] and compare the numbers")


# fails for: lazy-constants
@pytest.mark.task("download")
@pytest.mark.points(1)
def test_download_returns_the_artifact(submission, aws, seeded):
    entry = seeded.entries[len(seeded.entries) // 2]
    got = submission.download_model(aws.conn(REGION), seeded.bucket, MODEL, entry.version)
    expect(type(got) is bytes, f"download_model() returned {type(got).__name__}; return bytes")
    expect(got == entry.artifact,
           f"download_model(conn, bucket, 'churn', {entry.version!r}) returned {len(got)} bytes "
           "that are not the stored artifact")


# fails for: lazy-constants (gated: it always raises ValueError)
@pytest.mark.task("download")
@pytest.mark.points(1)
@pytest.mark.requires("test_download_returns_the_artifact")
def test_download_refuses_a_corrupted_artifact(submission, aws, seeded):
    bad = seeded.corrupt
    try:
        submission.download_model(aws.conn(REGION), seeded.bucket, bad.name, bad.version)
    except SubmissionRaised as exc:
        expect(exc.exc_type == "ValueError",
               f"download_model() of an artifact whose bytes do not match its sha256 raised "
               f"{exc.exc_type}; raise ValueError for a checksum mismatch")
        return
    expect(False, f"download_model(conn, bucket, {bad.name!r}, {bad.version!r}) returned bytes "
                  "whose SHA-256 is not the 'sha256' stored with them. Compute "
                  "hashlib.sha256(data).hexdigest() and raise ValueError when it differs")


# fails for: lazy-constants, link-to-own-server
@pytest.mark.task("presign")
@pytest.mark.points(1)
def test_presigned_link_downloads_the_artifact(submission, support, aws, seeded):
    entry = seeded.entries[0]
    url = submission.presigned_url(aws.conn(REGION), seeded.bucket, MODEL, entry.version, 600)
    problems = support.presign_problems(aws, url, region=REGION, bucket=seeded.bucket,
                                        key=entry.key, expires=600, artifact=entry.artifact)
    works = [p for p in problems if p.startswith(("downloading", "the link downloads"))]
    expect(not works, f"presigned_url(conn, bucket, 'churn', {entry.version!r}, 600): "
                      f"{'; '.join(works)}")


# fails for: lazy-constants, link-to-own-server
@pytest.mark.task("presign")
@pytest.mark.points(1)
def test_presigned_link_is_sigv4_and_expires(submission, support, aws, seeded):
    entry = seeded.entries[-1]
    url = submission.presigned_url(aws.conn(REGION), seeded.bucket, MODEL, entry.version, 900)
    problems = support.presign_problems(aws, url, region=REGION, bucket=seeded.bucket,
                                        key=entry.key, expires=900, artifact=entry.artifact)
    problems = [p for p in problems if not p.startswith(("downloading", "the link downloads"))]
    expect(not problems, f"presigned_url(conn, bucket, 'churn', {entry.version!r}, 900): "
                         f"{'; '.join(problems)}")


@pytest.fixture(scope="module")
def policy_report(submission, support, aws):
    doc = submission.registry_policy("acme-model-registry")
    return support.policy_report(aws, doc, "acme-model-registry")


# fails for: lazy-constants, wildcard-policy
@pytest.mark.task("policy")
@pytest.mark.points(1)
@pytest.mark.parametrize("rule", ["IAM001", "IAM002", "IAM003", "IAM004", "IAM005", "IAM006",
                                  "IAM007"])
def test_registry_policy(support, policy_report, rule):
    problems = policy_report[rule]
    expect(not problems, f"registry_policy('acme-model-registry'): {rule} "
                         f"({support.POLICY_RULES[rule]}) fails: {'; '.join(problems)}")
    expect(not support.severe_policy_problem(policy_report), support.severe_policy_problem(
        policy_report) + f" So {rule} does not count either")
