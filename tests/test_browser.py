"""What a learner sees, in JupyterLab driven by a real Chromium (opt in: `make test-browser`).

Starts JupyterLab headless on a scratch student copy, runs the pandas-cleaning notebook on the
starter and on a one-function solution, and opens an exported feedback page on a phone and a
laptop screen. Screenshots are saved under ``out/browser/`` (BROWSER_ARTIFACTS overrides).
Playwright drives Debian's ``chromium`` through ``executable_path``: Playwright's own browser
download is not needed.
"""

from __future__ import annotations

import ast
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from grader.engine.course import Course
from grader.engine.runner import grade_exercise
from grader.instructor import release

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[browser]'")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)",
                allow_module_level=True)

ROOT = Path(__file__).resolve().parent.parent
EX = "pandas-cleaning"
NOTEBOOK = "notebooks/04_data/01_pandas-cleaning.ipynb"
TOKEN = "browser-test"
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS", ROOT / "out" / "browser"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def student_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A student copy with pandas-cleaning only, as `grader release` builds it."""
    out = tmp_path_factory.mktemp("lab") / "course"
    original = release.uncommitted
    release.uncommitted = lambda root: []  # a developer's working tree may be dirty
    try:
        report = release.build(Course.load(ROOT), out, [EX])
    finally:
        release.uncommitted = original
    assert report.leaks == []
    return out


@pytest.fixture(scope="module")
def lab(student_copy: Path) -> Iterator[str]:
    """JupyterLab serving the student copy; yields its base URL."""
    port = _free_port()
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}",
           f"--ServerApp.token={TOKEN}", f"--ServerApp.root_dir={student_copy}",
           "--ServerApp.ip=127.0.0.1"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    env = {**os.environ, "LAB_FAST": "1", "HF_HUB_OFFLINE": "1"}
    env.pop("MPLBACKEND", None)
    log = (student_copy.parent / "lab.log").open("w")
    server = subprocess.Popen(cmd, cwd=student_copy, stdout=log, stderr=subprocess.STDOUT,
                              env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=5):
                    break
            except OSError as exc:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("JupyterLab did not start: " + (
                        student_copy.parent / "lab.log").read_text()[-2000:]) from exc
                time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as play:
        chromium = play.chromium.launch(executable_path=CHROMIUM, headless=True,
                                        args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield chromium
        chromium.close()


def _one_function_solution(student_copy: Path) -> None:
    """The starter with the reference's ``standardise_missing`` pasted in: one task done."""
    course = Course.load(ROOT)
    ex = course.get(EX)
    reference = (course.solution_dir(ex) / "cleaning.py").read_text()
    target = student_copy / "exercises" / ex.rel / "cleaning.py"
    starter = target.read_text()

    def function(source: str, name: str) -> ast.FunctionDef:
        return next(n for n in ast.parse(source).body
                    if isinstance(n, ast.FunctionDef) and n.name == name)

    done = ast.get_source_segment(reference, function(reference, "standardise_missing"))
    todo = ast.get_source_segment(starter, function(starter, "standardise_missing"))
    assert done and todo
    target.write_text(starter.replace(todo, done))


def _restart_and_run_all(page: Any, attempts: int = 3) -> None:
    """Kernel > Restart Kernel and Run All Cells, confirmed. On a busy machine the menu may take
    a click before it is ready, and no dialog opens: close whatever is open and ask again."""
    for attempt in range(attempts):
        page.get_by_role("menuitem", name="Kernel", exact=True).click()
        page.get_by_role("menuitem", name="Restart Kernel and Run All Cells…").click()
        confirm = page.get_by_role("button", name="Confirm Kernel Restart")
        try:
            confirm.wait_for(state="visible", timeout=60_000)
        except Exception:  # playwright's TimeoutError; the module is imported lazily
            if attempt == attempts - 1:
                raise
            page.keyboard.press("Escape")
            continue
        confirm.click()
        return


def _run_all(browser: Any, base: str, shot: str) -> tuple[str, Any]:
    """Open the notebook, restart and run all cells, wait for check(); text and the page."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={TOKEN}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle'], "
                           "#jp-main-statusbar :text('Idle')", timeout=90_000)
    _restart_and_run_all(page)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-OutputArea-output')]"
        ".some(o => o.innerText.includes('next:'))", timeout=240_000)
    page.wait_for_timeout(1500)  # the last outputs settle
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / shot), full_page=True)
    return page.inner_text(".jp-Notebook"), page


def test_starter_notebook_runs_to_check(browser: Any, lab: str) -> None:
    text, page = _run_all(browser, lab, "lab-starter.png")
    assert "Traceback (most recent call last)" not in text
    assert "not written yet" in text
    assert "not attempted" in text and "next:" in text
    assert page.locator(".jp-RenderedImage img").count() >= 1, "the data plots should render"
    page.close()


def test_one_function_solution_shows_its_task(browser: Any, lab: str,
                                              student_copy: Path) -> None:
    _one_function_solution(student_copy)
    text, page = _run_all(browser, lab, "lab-one-function.png")
    assert "Traceback (most recent call last)" not in text
    assert "missing" in text and "next:" in text
    assert page.locator(".jp-RenderedImage img").count() >= 1
    page.close()


def test_feedback_page_fits_a_phone_and_a_laptop(browser: Any, student_copy: Path,
                                                 tmp_path: Path) -> None:
    from grader.engine.results import RunResult
    from grader.instructor.feedback import student_page

    course = Course.load(ROOT)
    ex = course.get(EX)
    _one_function_solution(student_copy)
    result = grade_exercise(course, ex, student_copy / "exercises", seed=3)
    run = RunResult.from_dict({"score": result.score, "max_score": result.max_score,
                               "exercises": [result.to_dict()], "environment": {}})
    html = tmp_path / "student.html"
    html.write_text(student_page("ann <b>", run, {ex.id: ex}))
    for width in (390, 1280):
        page = browser.new_page(viewport={"width": width, "height": 800})
        page.goto(html.as_uri())
        page.screenshot(path=str(ARTIFACTS / f"feedback-{width}.png"), full_page=True)
        scroll = page.evaluate("() => [document.documentElement.scrollWidth, "
                               "document.documentElement.clientWidth]")
        assert scroll[0] <= scroll[1], f"horizontal scroll at {width} px: {scroll}"
        assert "ann <b>" in page.inner_text("body")  # escaped, shown as text
        page.close()
