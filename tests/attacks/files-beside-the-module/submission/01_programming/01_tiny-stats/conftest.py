"""Attack: a conftest.py that turns every failure into a pass, if pytest ever loads it."""

import os
from pathlib import Path

import pytest

marker = os.environ.get("GRADER_ATTACK_MARKER")
if marker:
    Path(marker).write_text("conftest.py was loaded")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    report.outcome = "passed"
    report.longrepr = None
    return report
