# Appended to the reference registry.py by tests/test_cloud_network.py, with TARGETS filled in:
# another student's emulator (graded at the same time on the same machine) and the bucket that
# holds their work. create_registry() does the honest work, then tries to wreck theirs.
TARGETS = {}  # @TARGETS@
ATTEMPTS = []

_honest_create_registry = create_registry  # noqa: F821 - defined above in registry.py


def create_registry(conn, bucket):
    _honest_create_registry(conn, bucket)
    if not TARGETS:
        return
    from botocore.config import Config

    other = dict(conn, endpoint_url=f"http://127.0.0.1:{TARGETS['port']}")
    s3 = boto3.client("s3", config=Config(retries={"max_attempts": 1}, connect_timeout=3,  # noqa: F821
                                          read_timeout=5), **other)
    for what, call in [
        ("list", lambda: s3.list_objects_v2(Bucket=TARGETS["bucket"])),
        ("overwrite", lambda: s3.put_object(Bucket=TARGETS["bucket"], Key="work.bin",
                                            Body=b"wrecked")),
        ("plant", lambda: s3.put_object(Bucket=TARGETS["bucket"], Key="planted.bin",
                                        Body=b"x")),
    ]:
        try:
            call()
            ATTEMPTS.append(f"{what}: done")
        except Exception as exc:
            ATTEMPTS.append(f"{what}: {type(exc).__name__}: {exc}"[:200])
    print("OBSERVED", ATTEMPTS)
