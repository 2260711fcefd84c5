"""Hidden tests for s3-model-registry: another region, other registries, edge cases.

Registries, bucket names and artifacts come from this run's seed, so answers tailored to the
public tests' registry score nothing here.
"""

import contextlib
import random

import pytest

from grader.testing import SubmissionRaised, expect

REGION = "eu-west-1"


@pytest.fixture(scope="session")
def aws(support, request, submission):
    """This grading's emulator (shared with the public tests)."""
    emulator = support.shared_emulator(request)
    support.warm_up(submission, "create_registry")  # your worker starts while the emulator boots
    return emulator


# fails for: lazy-constants, tuned-to-visible-tests, public-read-policy
@pytest.mark.task("bucket")
@pytest.mark.points(1)
def test_registry_bucket_in_us_east_1(submission, support, aws):
    bucket = aws.name("registry-use1")
    submission.create_registry(aws.conn("us-east-1"), bucket)
    report = support.bucket_report(aws, bucket, "us-east-1")
    problems = [f"{rule}: {p}" for rule, found in report.items() for p in found]
    expect(not problems, "create_registry(conn, bucket) with conn['region_name'] 'us-east-1' "
                         f"(which takes no LocationConstraint): {'; '.join(problems)}")


# fails for: lazy-constants, no-encryption
@pytest.mark.task("upload")
@pytest.mark.points(1)
def test_publish_model_on_hidden_versions(submission, support, aws, grading_seed):
    bucket = aws.grader_bucket(REGION)
    problems = []
    for version in random.Random(grading_seed).sample(support.versions_for(grading_seed + 7), 2):
        entry = support.make_entry(grading_seed + 7, "ranker", version)
        returned = submission.publish_model(aws.conn(REGION), bucket, entry.name, entry.version,
                                            entry.artifact, entry.metrics, entry.data_version)
        found = support.upload_problems(aws, REGION, bucket, entry, returned)
        problems += [p for part in found.values() for p in part if p not in problems]
    expect(not problems, f"publish_model() of more versions of 'ranker': {'; '.join(problems)}")


# fails for: lazy-constants, tuned-to-visible-tests
@pytest.mark.task("upload")
@pytest.mark.points(1)
def test_publish_model_refuses_malformed_versions(submission, support, aws, grading_seed):
    bucket = aws.grader_bucket(REGION)
    entry = support.make_entry(grading_seed, "ranker", "1.0.0")
    for version in ("latest", "1.2", "v1.2.0"):
        try:
            submission.publish_model(aws.conn(REGION), bucket, entry.name, version,
                                     entry.artifact, entry.metrics, entry.data_version)
        except SubmissionRaised as exc:
            expect(exc.exc_type == "ValueError",
                   f"publish_model() with version {version!r} raised {exc.exc_type}; raise "
                   "ValueError for a version that is not MAJOR.MINOR.PATCH")
        else:
            expect(False, f"publish_model() accepted version {version!r}; only MAJOR.MINOR.PATCH "
                          "versions (like '1.2.0') can be sorted and resolved, so raise "
                          "ValueError for anything else")
    keys = aws.client("s3", REGION).list_objects_v2(Bucket=bucket).get("KeyCount", 0)
    expect(keys == 0, "publish_model() wrote an object for a malformed version before refusing "
                      "it; check the version first")
    returned = submission.publish_model(aws.conn(REGION), bucket, entry.name, entry.version,
                                        entry.artifact, entry.metrics, entry.data_version)
    found = support.upload_problems(aws, REGION, bucket, entry, returned)["stored"]
    expect(not found, "after refusing malformed versions, publish_model() must still store a "
                      f"well-formed one (1.0.0): {'; '.join(found)}")


# fails for: lazy-constants, overwrites-version
@pytest.mark.task("no-overwrite")
@pytest.mark.points(1)
def test_a_version_uploaded_by_someone_else_is_not_overwritten(submission, support, aws,
                                                               grading_seed):
    bucket = aws.grader_bucket(REGION)
    theirs = support.make_entry(grading_seed + 3, "pricing", "3.1.4")
    support.put_entry(aws.client("s3", REGION), bucket, theirs)
    mine = support.make_entry(grading_seed + 4, "pricing", "3.1.4")
    with contextlib.suppress(SubmissionRaised):  # refusing is right; judged by what is stored
        submission.publish_model(aws.conn(REGION), bucket, mine.name, mine.version,
                                 mine.artifact, mine.metrics, mine.data_version)
    stored = support.stored_versions(aws, REGION, bucket, theirs.key)
    expect(stored == [theirs.artifact],
           "publish_model() overwrote version 3.1.4 of 'pricing', which another process had "
           "already published to the bucket. Ask S3 whether the key exists (or let S3 refuse "
           "the write with IfNoneMatch='*'); what this process uploaded before is not enough")
    newer = support.make_entry(grading_seed + 4, "pricing", "3.1.5")
    returned = submission.publish_model(aws.conn(REGION), bucket, newer.name, newer.version,
                                        newer.artifact, newer.metrics, newer.data_version)
    found = support.upload_problems(aws, REGION, bucket, newer, returned)["stored"]
    expect(not found, f"publishing a new version 3.1.5 beside it must still work: "
                      f"{'; '.join(found)}")


@pytest.fixture(scope="module")
def hidden_seeded(support, aws, grading_seed):
    return support.seed_registry(aws, REGION, grading_seed + 11, "ranker", drop_metric="log_loss")


# fails for: lazy-constants
@pytest.mark.task("versions")
@pytest.mark.points(1)
def test_list_versions_of_a_hidden_registry(submission, support, aws, hidden_seeded):
    got = submission.list_versions(aws.conn(REGION), hidden_seeded.bucket, "ranker")
    problem = support.versions_problem(got, [e.version for e in hidden_seeded.entries], "ranker")
    expect(problem is None, problem)


# fails for: lazy-constants
@pytest.mark.task("versions")
@pytest.mark.points(1)
def test_latest_version_of_a_hidden_registry(submission, aws, hidden_seeded):
    got = submission.latest_version(aws.conn(REGION), hidden_seeded.bucket, "ranker")
    expect(got == hidden_seeded.entries[-1].version,
           f"latest_version() on another registry returned {got!r}, which is not the highest "
           "published version of that model (ignore other models whose names start the same)")


# fails for: lazy-constants, tuned-to-visible-tests
@pytest.mark.task("best")
@pytest.mark.points(1)
def test_best_version_when_lower_is_better(submission, aws, hidden_seeded):
    got = submission.best_version(aws.conn(REGION), hidden_seeded.bucket, "ranker", "log_loss",
                                  False)
    expect(got == hidden_seeded.best("log_loss", False),
           f"best_version(..., 'log_loss', higher_is_better=False) returned {got!r}, which is not "
           "the version with the lowest log_loss. One version has no log_loss at all: skip it "
           "rather than count it as 0")


# fails for: lazy-constants
@pytest.mark.task("download")
@pytest.mark.points(1)
def test_download_on_a_hidden_registry(submission, aws, hidden_seeded):
    good = hidden_seeded.entries[-1]
    got = submission.download_model(aws.conn(REGION), hidden_seeded.bucket, "ranker",
                                    good.version)
    expect(got == good.artifact, "download_model() on another registry did not return the "
                                 "stored artifact")
    bad = hidden_seeded.corrupt
    try:
        submission.download_model(aws.conn(REGION), hidden_seeded.bucket, bad.name, bad.version)
    except SubmissionRaised as exc:
        expect(exc.exc_type == "ValueError", f"a checksum mismatch raised {exc.exc_type}, not "
                                             "ValueError")
    else:
        expect(False, "download_model() returned an artifact whose checksum does not match")


# fails for: lazy-constants (gated), tuned-to-visible-tests
@pytest.mark.task("presign")
@pytest.mark.points(1)
@pytest.mark.requires("test_presigned_link_downloads_the_artifact")
def test_no_link_for_a_missing_version(submission, aws, hidden_seeded):
    try:
        url = submission.presigned_url(aws.conn(REGION), hidden_seeded.bucket, "ranker",
                                       "99.0.0", 300)
    except SubmissionRaised as exc:
        expect(exc.exc_type == "FileNotFoundError",
               f"presigned_url() for a version that does not exist raised {exc.exc_type}; raise "
               "FileNotFoundError")
    else:
        expect(False, f"presigned_url() for version 99.0.0, which does not exist, returned "
                      f"{str(url)[:40]!r}...: signing never checks that the object exists, so a "
                      "caller gets a link that answers 404. Check with head_object first")


@pytest.fixture(scope="module")
def hidden_policy(submission, support, aws, grading_seed):
    bucket = f"ml-registry-{random.Random(grading_seed).randrange(10**6):06d}"
    return bucket, support.policy_report(aws, submission.registry_policy(bucket), bucket)


# fails for: lazy-constants, tuned-to-visible-tests, wildcard-policy
@pytest.mark.task("policy")
@pytest.mark.points(1)
@pytest.mark.parametrize("rule", ["IAM001", "IAM002", "IAM003", "IAM004", "IAM005", "IAM006",
                                  "IAM007"])
def test_registry_policy_for_another_bucket(support, hidden_policy, rule):
    bucket, report = hidden_policy
    expect(not report[rule], f"registry_policy({bucket!r}): {rule} ({support.POLICY_RULES[rule]})"
                             f" fails: {'; '.join(report[rule])}")
    expect(not support.severe_policy_problem(report), support.severe_policy_problem(report) +
           f" So {rule} does not count either")
