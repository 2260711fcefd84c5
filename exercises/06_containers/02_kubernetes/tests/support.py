"""Trusted helpers for the kubernetes exercise; they run in the grader's process only.

The learner's manifests are text: they are read from the worker's copy, loaded with YAML's
safe loader (after a size check that defuses alias bombs), validated offline against the
official JSON schemas of a pinned Kubernetes version (shipped by ``kubernetes-validate``,
checked with ``jsonschema`` so that every error is reported, not only the first), and checked
against best-practice rules named like kube-score's and kube-linter's. Nothing is applied to a
cluster and nothing the learner wrote is executed.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from grader.testing import Feedback, NotAttempted, SubmissionCrashed

KUBERNETES_VERSION = "1.30.0"  # the pinned version every manifest is validated against
APP_PORT = 8000  # where the penguin API listens inside its container
HEALTH_PATH = "/health"
MAX_BYTES = 256 * 1024
MAX_NODES = 20_000  # YAML nodes after expanding aliases: a billion-laughs file stops here
MAX_SCALAR_CHARS = 4096  # one value (below Python's 4,300-digit limit on int conversion)
MARKER = "I AM NOT DONE"

MANIFESTS = {
    "deployment": "manifests/deployment.yaml",
    "service": "manifests/service.yaml",
    "hpa": "manifests/hpa.yaml",
    "configmap": "manifests/configmap.yaml",
}
KIND_OF = {"deployment": "Deployment", "service": "Service",
           "hpa": "HorizontalPodAutoscaler", "configmap": "ConfigMap"}
WARMUPS = {
    "warmup-indentation": "warmup/01-indentation.yaml",
    "warmup-resources": "warmup/02-resources.yaml",
    "warmup-selector": "warmup/03-selector.yaml",
    "warmup-service-port": "warmup/04-service-port.yaml",
    "warmup-hpa-target": "warmup/05-hpa-target.yaml",
}

# -- reading the learner's files -------------------------------------------------------------

_FILES: dict[str, bytes | None] = {}
TOO_BIG = b"\0too big\0"  # stands for a file over MAX_BYTES (a NUL never ends a YAML file)


def learner_files(submission: Any) -> dict[str, bytes | None]:
    """Every learner file's bytes (None when missing), read once per grading; a file over
    MAX_BYTES is never read."""
    if not _FILES:
        submission.harness.ready()
        for rel in [*MANIFESTS.values(), *WARMUPS.values()]:
            try:
                _FILES[rel] = submission.read_file(rel, max_bytes=MAX_BYTES)
            except FileNotFoundError:
                _FILES[rel] = None
            except SubmissionCrashed as exc:  # larger than the cap: refused unread
                if "larger" not in str(exc):
                    raise
                _FILES[rel] = TOO_BIG
    return _FILES


def only_comments(text: str) -> bool:
    """Whether a file holds nothing but blank lines, comments and document markers."""
    return all(not line.strip() or line.lstrip().startswith("#") or line.strip() in ("---", "...")
               for line in text.splitlines())


# -- findings --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Finding:
    """One broken rule, located: rule ID, file and line, object, path inside the document."""

    rule: str
    file: str
    line: int
    obj: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        obj = f" {self.obj}" if self.obj else ""
        path = f" {self.path}" if self.path else ""
        return f"[{self.rule}] {where}{obj}{path}: {self.message}"


def report(findings: list[Finding], advice: str = "") -> str:
    """A learner-facing message listing the findings (at most ten), then what to do."""
    lines = [str(f) for f in findings[:10]]
    if len(findings) > 10:
        lines.append(f"... and {len(findings) - 10} more")
    return "\n".join(lines) + (f"\nNext: {advice}" if advice else "")


def fmt(path: tuple[Any, ...] | list[Any]) -> str:
    """('spec', 'containers', 0, 'image') -> 'spec.containers[0].image'."""
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


# -- YAML, safely ----------------------------------------------------------------------------

@dataclass
class Doc:
    """One YAML document of a manifest file, with its node tree for line numbers."""

    file: str
    index: int  # 1-based position in the file
    data: dict[str, Any]
    node: yaml.Node

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", ""))

    @property
    def name(self) -> str:
        return str(get(self.data, "metadata", "name") or "")

    @property
    def label(self) -> str:
        return f"{self.kind or 'document ' + str(self.index)}/{self.name or '?'}"

    def line(self, path: tuple[Any, ...] | list[Any]) -> int:
        """The line of the deepest step of ``path`` that exists (1-based): where its key, or
        its list item, is written."""
        node = self.node
        line = int(node.start_mark.line)
        for step in path:
            if isinstance(node, yaml.MappingNode) and isinstance(step, str):
                pair = next(((k, v) for k, v in node.value
                             if isinstance(k, yaml.ScalarNode) and k.value == step), None)
                if pair is None:
                    break
                line, node = int(pair[0].start_mark.line), pair[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and \
                    0 <= step < len(node.value):
                node = node.value[step]
                line = int(node.start_mark.line)
            else:
                break
        return line + 1

    def finding(self, rule: str, path: tuple[Any, ...] | list[Any], message: str) -> Finding:
        return Finding(rule, self.file, self.line(path), self.label, fmt(path), message)


@dataclass
class Manifest:
    """One learner file: its documents, or why they could not be read."""

    file: str
    text: str
    docs: list[Doc] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)


class _TooBig(Exception):
    pass


def _expanded_size(node: yaml.Node, memo: dict[int, int], active: set[int]) -> int:
    key = id(node)
    if key in memo:
        return memo[key]
    if key in active:
        raise _TooBig("an alias refers to the node it is part of")
    active.add(key)
    size = 1
    if isinstance(node, yaml.ScalarNode) and len(node.value) > MAX_SCALAR_CHARS:
        raise _TooBig(f"line {node.start_mark.line + 1} holds a value of {len(node.value)} "
                      f"characters; the grader reads values of up to {MAX_SCALAR_CHARS} "
                      "(a manifest's values are names, numbers and short settings)")
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(child, memo, active) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(_expanded_size(k, memo, active) + _expanded_size(v, memo, active)
                    for k, v in node.value)
    active.discard(key)
    memo[key] = size
    if size > MAX_NODES:
        raise _TooBig(f"more than {MAX_NODES} values once its aliases are expanded")
    return size


def _duplicates(node: yaml.Node, file: str, seen: set[int]) -> list[Finding]:
    if id(node) in seen:
        return []
    seen.add(id(node))
    found = []
    if isinstance(node, yaml.MappingNode):
        keys: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value != "<<":
                if key.value in keys:
                    found.append(Finding("yaml-duplicate-key", file, key.start_mark.line + 1, "",
                                         "", f"the key {key.value!r} appears twice in one "
                                         "mapping; YAML keeps only the last one"))
                keys.add(key.value)
            found += _duplicates(value, file, seen)
    elif isinstance(node, yaml.SequenceNode):
        for child in node.value:
            found += _duplicates(child, file, seen)
    return found


def parse_manifest(file: str, text: str) -> Manifest:
    """Load every document with the safe loader; problems become findings, never exceptions."""
    out = Manifest(file, text)
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
        for node in nodes:
            if node is not None:
                _expanded_size(node, {}, set())
        values = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = str(getattr(exc, "problem", None) or exc).strip()
        context = str(getattr(exc, "context", None) or "").strip()
        out.problems.append(Finding("yaml-syntax", file, mark.line + 1 if mark else 0, "", "",
                                    f"not valid YAML: {problem}" +
                                    (f" ({context})" if context else "") +
                                    ". Check the indentation: YAML uses spaces, never tabs, and "
                                    "items of a list start with '- '"))
        return out
    except _TooBig as exc:
        out.problems.append(Finding("yaml-syntax", file, 0, "", "", f"refused: {exc}"))
        return out
    except RecursionError:
        out.problems.append(Finding("yaml-syntax", file, 0, "", "", "refused: nested too deeply"))
        return out
    except (ValueError, OverflowError) as exc:  # a value YAML's types cannot hold
        out.problems.append(Finding("yaml-syntax", file, 0, "", "",
                                    f"refused: a value cannot be read ({str(exc)[:120]})"))
        return out
    for index, (node, value) in enumerate(zip(nodes, values, strict=True), start=1):
        if node is None or value is None:
            continue
        out.problems += _duplicates(node, file, set())
        if not isinstance(value, dict):
            out.problems.append(Finding("yaml-syntax", file, node.start_mark.line + 1, "", "",
                                        f"document {index} is a {type(value).__name__}, not a "
                                        "mapping with apiVersion, kind, metadata and spec"))
            continue
        out.docs.append(Doc(file, index, value, node))
    return out


_PARSED: dict[str, Manifest] = {}


def manifest(submission: Any, rel: str, *, marker: bool = False) -> Manifest:
    """A learner file, parsed; NotAttempted while it is an untouched starter."""
    __tracebackhide__ = True  # pytest: report the test line, not these helpers
    data = learner_files(submission).get(rel)
    if data is None:
        raise Feedback(f"{rel} is missing from your submission: create it in "
                       f"exercises/06_containers/02_kubernetes/{rel}")
    if data == TOO_BIG:
        raise Feedback(f"[file-size] {rel} is larger than {MAX_BYTES // 1024} KiB, so the grader "
                       "did not read it (the reference's manifests are under 3 KiB each): a "
                       "manifest holds settings, not data")
    text = data.decode("utf-8", "replace")
    if marker and MARKER in text:
        raise NotAttempted(f"{rel} still has the line '# {MARKER}': fix the bug, then delete "
                           "that line to have it graded")
    if only_comments(text):
        raise NotAttempted(f"{rel} holds only comments so far: not attempted yet")
    if rel not in _PARSED:
        _PARSED[rel] = parse_manifest(rel, text)
    return _PARSED[rel]


def attempted(submission: Any, rel: str) -> bool:
    """Whether a learner file holds anything besides comments."""
    data = learner_files(submission).get(rel)
    return data is not None and not only_comments(data.decode("utf-8", "replace"))


def documents(submission: Any, *needed: str) -> list[Doc]:
    """Every document of the main manifests; NotAttempted or Feedback if a needed file is not
    ready (a starter, a missing file, YAML that does not load, or no object of its kind)."""
    __tracebackhide__ = True  # pytest: report the test line, not these helpers
    docs: list[Doc] = []
    for key in needed:
        found = manifest(submission, MANIFESTS[key])
        if found.problems and not found.docs:
            raise Feedback(f"{found.file} has to load as YAML before this rule can be checked:"
                           f"\n{report(found.problems, 'see the schema task')}")
        if not any(d.kind == KIND_OF[key] for d in found.docs):
            raise Feedback(f"[missing-object] {found.file} holds no {KIND_OF[key]}: write "
                           f"one there (kind: {KIND_OF[key]})")
    for rel in MANIFESTS.values():  # objects may refer to each other across files
        if attempted(submission, rel) and learner_files(submission)[rel] != TOO_BIG:
            docs += manifest(submission, rel).docs
    return docs


def as_list(value: Any) -> list[Any]:
    """``value`` if it is a list, else an empty one (manifests may hold anything anywhere)."""
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` if it is a mapping, else an empty one."""
    return value if isinstance(value, dict) else {}


def get(data: Any, *path: Any) -> Any:
    """``data[path[0]][path[1]]...``, or None where a step is missing or of the wrong type."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(data, list) or not 0 <= step < len(data):
                return None
        elif not isinstance(data, dict):
            return None
        data = data[step] if isinstance(step, int) else data.get(step)
    return data


# -- schemas ---------------------------------------------------------------------------------

@cache
def schema_dir() -> Path:
    """kubernetes-validate's copy of the official JSON schemas (used as data, not imported)."""
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("kubernetes-validate is not installed (the lab's setup installs it)")
    return Path(next(iter(spec.submodule_search_locations))) / "kubernetes-json-schema"


@cache
def versions() -> tuple[str, ...]:
    """The Kubernetes versions whose schemas are available, oldest first."""
    found = [p.name[1:].split("-")[0] for p in schema_dir().glob("v*-local-strict")]
    return tuple(sorted(set(found), key=lambda v: tuple(int(x) for x in v.split("."))))


@cache
def _definitions(version: str) -> Any:
    from referencing import Registry, Resource

    folder = schema_dir() / f"v{version}-local-strict"
    defs = json.loads((folder / "_definitions.json").read_text())
    return Resource.from_contents(defs, default_specification=_spec()) @ Registry()


def _spec() -> Any:
    from referencing.jsonschema import DRAFT202012

    return DRAFT202012


def schema_file(api_version: str, kind: str) -> str:
    """kubernetes-validate's file name for a kind: apps/v1 Deployment -> deployment-apps-v1."""
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    return f"{kind.lower()}-{group}.json"


def _import_jsonschema() -> Any:
    """``import jsonschema``, without the 2-second grammar build of its optional IRI checker.

    jsonschema tries ``rfc3987_syntax`` at import time (Jupyter's dependencies install it),
    which compiles a Lark grammar. Kubernetes schemas use no IRI format and validation here
    checks no formats at all, so the import is skipped once; later imports are unaffected.
    """
    if "jsonschema" in sys.modules:
        return sys.modules["jsonschema"]
    blocked = "rfc3987_syntax" not in sys.modules
    if blocked:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]
    try:
        import jsonschema
    finally:
        if blocked:
            del sys.modules["rfc3987_syntax"]
    return jsonschema


@cache
def _validator(version: str, api_version: str, kind: str) -> Any:
    from referencing import Resource

    jsonschema = _import_jsonschema()

    path = schema_dir() / f"v{version}-local-strict" / schema_file(api_version, kind)
    if not path.is_file():
        return None
    schema = json.loads(path.read_text())
    registry = Resource.from_contents(schema, default_specification=_spec()) @ \
        _definitions(version)
    return jsonschema.Draft202012Validator(schema, registry=registry)


def _short(message: str) -> str:
    return message if len(message) <= 220 else message[:217] + "..."


def schema_findings(doc: Doc, version: str = KUBERNETES_VERSION) -> list[Finding]:
    """Every schema error of one document against Kubernetes ``version`` (strict: no unknown
    fields)."""
    api_version, kind = doc.data.get("apiVersion"), doc.data.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str) or not kind:
        return [doc.finding("schema", [], "every document needs apiVersion and kind (e.g. "
                            "apiVersion: apps/v1, kind: Deployment)")]
    validator = _validator(version, api_version, kind)
    if validator is None:
        return [doc.finding("schema", ["apiVersion"],
                            f"Kubernetes {version.rsplit('.', 1)[0]} has no {kind} in "
                            f"{api_version} (removed, misspelt or not yet added): look up the "
                            f"current apiVersion with `kubectl explain {kind.lower()}`")]
    out = []
    for error in sorted(validator.iter_errors(doc.data), key=lambda e: list(map(str, e.path))):
        path = list(error.absolute_path)
        message = error.message
        line_path = path
        if error.validator == "additionalProperties":
            message += ": a misspelt field, or a field indented under the wrong parent"
            known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
            extra = [k for k in error.instance if k not in known] \
                if isinstance(error.instance, dict) else []
            line_path = [*path, extra[0]] if extra else path
        out.append(Finding("schema", doc.file, doc.line(line_path), doc.label, fmt(path),
                           _short(message)))
    return out


def file_schema_findings(found: Manifest, key: str | None,
                         version: str = KUBERNETES_VERSION) -> list[Finding]:
    """YAML and schema problems of one file, and the object it must hold, if any."""
    findings = list(found.problems)
    for doc in found.docs:
        findings += schema_findings(doc, version)
    if key is not None and found.docs and not any(d.kind == KIND_OF[key] for d in found.docs):
        findings.append(Finding("missing-object", found.file, 0, "", "",
                                f"this file should hold a {KIND_OF[key]}"))
    if not found.docs and not found.problems:
        findings.append(Finding("schema", found.file, 0, "", "", "no YAML document found"))
    return findings


def api_server_findings(docs: list[Doc]) -> list[Finding]:
    """What the API server refuses although the schema allows it (`kubectl apply` fails).

    A Deployment whose selector does not select its own pod template, a container asking for
    more than its limit or for an amount that is not a quantity, a Service without ports, an
    autoscaler whose minimum is above its maximum.
    """
    out = check_selector(docs) + check_requests_within_limits(docs)
    for doc in of_kind(docs, "Deployment"):
        for i, container in containers(doc):
            for section in ("requests", "limits"):
                for resource, value in as_dict(get(container, "resources", section)).items():
                    if quantity(value) is None:
                        out.append(doc.finding(
                            "api-server", (*CONTAINERS, i, "resources", section, resource),
                            f"{resource} {section[:-1]}: {quantity_problem(value)}: the API "
                            "server rejects the Deployment"))
    for svc in of_kind(docs, "Service"):
        headless = get(svc.data, "spec", "clusterIP") == "None"
        if not as_list(get(svc.data, "spec", "ports")) and not headless:
            out.append(svc.finding("api-server", ("spec", "ports"),
                                   "a Service needs at least one port: the API server rejects "
                                   "it (spec.ports: Required value)"))
    for hpa in of_kind(docs, "HorizontalPodAutoscaler"):
        low, high = get(hpa.data, "spec", "minReplicas"), get(hpa.data, "spec", "maxReplicas")
        if isinstance(low, int) and isinstance(high, int) and not isinstance(low, bool) and \
                (low < 1 or low > high):
            out.append(hpa.finding("api-server", ("spec", "minReplicas"),
                                   f"minReplicas {low} with maxReplicas {high}: the API server "
                                   "needs 1 <= minReplicas <= maxReplicas"))
    return out


# -- workload helpers ------------------------------------------------------------------------

def of_kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [d for d in docs if d.kind == kind]


def containers(doc: Doc) -> list[tuple[int, dict[str, Any]]]:
    """(index, container) of a Deployment's pod template."""
    found = get(doc.data, "spec", "template", "spec", "containers")
    return [(i, c) for i, c in enumerate(found) if isinstance(c, dict)] \
        if isinstance(found, list) else []


CONTAINERS = ("spec", "template", "spec", "containers")


def template_labels(doc: Doc) -> dict[str, str]:
    labels = get(doc.data, "spec", "template", "metadata", "labels")
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def selector_matches(selector: Any, labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels and matchExpressions) selects ``labels``."""
    if not isinstance(selector, dict) or not selector:
        return False
    match = selector.get("matchLabels") or {}
    if not isinstance(match, dict):
        return False
    if any(labels.get(str(k)) != str(v) for k, v in match.items()):
        return False
    for expr in as_list(selector.get("matchExpressions")):
        if not isinstance(expr, dict):
            return False
        key, op = str(expr.get("key")), str(expr.get("operator"))
        values = [str(v) for v in as_list(expr.get("values"))]
        ok = {"In": key in labels and labels[key] in values,
              "NotIn": key not in labels or labels[key] not in values,
              "Exists": key in labels, "DoesNotExist": key not in labels}.get(op, False)
        if not ok:
            return False
    return bool(match) or bool(selector.get("matchExpressions"))


def container_ports(doc: Doc) -> list[tuple[int | None, str | None]]:
    """(containerPort, name) of every port of every container in a Deployment."""
    out = []
    for _, container in containers(doc):
        for port in as_list(container.get("ports")):
            if isinstance(port, dict):
                number = port.get("containerPort")
                out.append((number if isinstance(number, int) else None,
                            str(port["name"]) if port.get("name") else None))
    return out


MAX_QUANTITY_CHARS = 64  # "100m", "256Mi", "1.5e3": real quantities are a few characters
# The API server's grammar (k8s.io/apimachinery resource.ParseQuantity), matched only on text
# already capped at MAX_QUANTITY_CHARS: a number, then a binary or decimal suffix or exponent.
_QUANTITY = re.compile(r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
                       r"(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]{1,3})?")
_EXPONENTS = {"n": -3, "u": -2, "m": -1, "k": 1, "M": 2, "G": 3, "T": 4, "P": 5, "E": 6}


def quantity(value: Any) -> Decimal | None:
    """A Kubernetes quantity ('100m', '0.5', '256Mi', 2) as a number, or None if malformed.

    Computed the way the official client's ``kubernetes.utils.quantity.parse_quantity`` does
    (number x 1000 or 1024 to the suffix's power), after a length cap and the API server's own
    grammar, so a 250,000-digit value is refused at once instead of parsed.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number = Decimal(value) if isinstance(value, int) or abs(value) < 1e30 else None
        return number if number is not None and number.is_finite() else None
    text = str(value)
    if len(text) > MAX_QUANTITY_CHARS:
        return None
    match = _QUANTITY.fullmatch(text)
    if not match:
        return None
    number, suffix = match.group(1), match.group(2)
    try:
        amount = Decimal(number)
        if suffix is None:
            return amount
        if suffix[0] in "eE":
            return amount.scaleb(int(suffix[1:]))
        base = 1024 if suffix.endswith("i") else 1000
        return amount * Decimal(base) ** _EXPONENTS[suffix[0]]
    except (InvalidOperation, ValueError):
        return None


def quantity_problem(value: Any) -> str | None:
    """Why a value is not a usable quantity, in a learner's words (None if it is one)."""
    text = str(value)
    if len(text) > MAX_QUANTITY_CHARS:
        return (f"a {len(text)}-character value is not a quantity the grader reads (at most "
                f"{MAX_QUANTITY_CHARS} characters; e.g. 250m CPU, 256Mi memory)")
    amount = quantity(value)
    if amount is None:
        return f"{text[:40]!r} is not a Kubernetes quantity (e.g. 250m CPU, 256Mi memory)"
    if amount <= 0:
        return f"{text!r} is not a usable amount: it must be above 0"
    return None


# -- best-practice rules ---------------------------------------------------------------------

def check_resources(docs: list[Doc]) -> list[Finding]:
    """kube-score container-resources: CPU and memory requests and limits on every container."""
    out = []
    for doc in of_kind(docs, "Deployment"):
        for i, container in containers(doc):
            base = (*CONTAINERS, i, "resources")
            for section in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    value = get(container, "resources", section, resource)
                    if value is None:
                        out.append(doc.finding("container-resources", (*base, section),
                                               f"no {resource} {section[:-1]}: " +
                                               _RESOURCE_WHY[section]))
                    elif (problem := quantity_problem(value)) is not None:
                        out.append(doc.finding("container-resources",
                                               (*base, section, resource),
                                               f"{resource} {section[:-1]}: {problem}"))
    return out


_RESOURCE_WHY = {
    "requests": "the scheduler cannot place the pod sensibly, and the autoscaler's CPU "
                "utilisation is a percentage of the request",
    "limits": "one runaway pod can starve everything else on its node",
}


def check_requests_within_limits(docs: list[Doc]) -> list[Finding]:
    """Requests no larger than limits (the API server rejects the pod otherwise)."""
    out = []
    for doc in of_kind(docs, "Deployment"):
        for i, container in containers(doc):
            for resource in ("cpu", "memory"):
                request = quantity(get(container, "resources", "requests", resource))
                limit = quantity(get(container, "resources", "limits", resource))
                if request is not None and limit is not None and request > limit:
                    out.append(doc.finding(
                        "container-resources", (*CONTAINERS, i, "resources", "requests",
                                                resource),
                        f"the {resource} request "
                        f"({get(container, 'resources', 'requests', resource)}) is larger than "
                        f"its limit ({get(container, 'resources', 'limits', resource)}): the "
                        "API server rejects such a pod"))
    return out


def _probe_ok(probe: Any) -> bool:
    return isinstance(probe, dict) and any(k in probe for k in ("httpGet", "tcpSocket", "exec",
                                                                "grpc"))


def check_probe(docs: list[Doc], which: str) -> list[Finding]:
    """kube-linter no-readiness-probe / no-liveness-probe."""
    key = f"{which}Probe"
    rule = f"no-{which}-probe"
    why = {"readiness": "without it the Service sends traffic to pods that are still starting "
                        "(or broken)",
           "liveness": "without it a hung process stays in rotation forever instead of being "
                       "restarted"}[which]
    out = []
    for doc in of_kind(docs, "Deployment"):
        for i, container in containers(doc):
            if not _probe_ok(container.get(key)):
                out.append(doc.finding(rule, (*CONTAINERS, i, key), f"no {key}: {why}"))
    return out


def check_probes_target_app(docs: list[Doc]) -> list[Finding]:
    """Probes ask GET /health on the port the app listens on (8000, by number or name)."""
    out = []
    for doc in of_kind(docs, "Deployment"):
        for i, container in containers(doc):
            names = {str(p.get("name")) for p in as_list(container.get("ports"))
                     if isinstance(p, dict) and str(p.get("containerPort")) == str(APP_PORT)
                     and p.get("name")}
            for key in ("readinessProbe", "livenessProbe"):
                probe = container.get(key)
                if not isinstance(probe, dict):
                    out.append(doc.finding("probe-targets-app", (*CONTAINERS, i, key),
                                           f"no {key} to check"))
                    continue
                http = probe.get("httpGet")
                if not isinstance(http, dict):
                    out.append(doc.finding("probe-targets-app", (*CONTAINERS, i, key),
                                           "use an httpGet probe on the app's /health: a TCP "
                                           "check passes even when the app cannot answer"))
                    continue
                port = http.get("port")
                if http.get("path") != HEALTH_PATH:
                    out.append(doc.finding("probe-targets-app",
                                           (*CONTAINERS, i, key, "httpGet", "path"),
                                           f"asks {http.get('path')!r}; the app's health "
                                           f"endpoint is {HEALTH_PATH}"))
                if str(port) != str(APP_PORT) and str(port) not in names:
                    out.append(doc.finding("probe-targets-app",
                                           (*CONTAINERS, i, key, "httpGet", "port"),
                                           f"asks port {port!r}, but the app listens on "
                                           f"{APP_PORT} (use the number or the name of that "
                                           "containerPort)"))
    return out


def check_image_tag(docs: list[Doc]) -> list[Finding]:
    """kube-score container-image-tag: an explicit tag (or digest) that is not latest."""
    out = []
    for doc in of_kind(docs, "Deployment"):
        for i, container in containers(doc):
            image = str(container.get("image") or "")
            last = image.rsplit("/", 1)[-1]
            if "@sha256:" in image:
                continue
            if ":" not in last:
                out.append(doc.finding("container-image-tag", (*CONTAINERS, i, "image"),
                                       f"{image!r} has no tag, which means :latest"))
            elif last.rsplit(":", 1)[1] == "latest":
                out.append(doc.finding("container-image-tag", (*CONTAINERS, i, "image"),
                                       f"{image!r} uses :latest: pods started at different "
                                       "times run different code, and a rollback cannot go "
                                       "back. Use a version tag (1.0.0) or a digest"))
    return out


def _security(container: dict[str, Any], pod: dict[str, Any], key: str) -> Any:
    value = get(container, "securityContext", key)
    return get(pod, "securityContext", key) if value is None else value


def check_run_as_non_root(docs: list[Doc]) -> list[Finding]:
    """kube-linter run-as-non-root: runAsNonRoot true for every container (pod or container)."""
    out = []
    for doc in of_kind(docs, "Deployment"):
        pod = as_dict(get(doc.data, "spec", "template", "spec"))
        for i, container in containers(doc):
            if _security(container, pod, "runAsNonRoot") is not True:
                out.append(doc.finding("run-as-non-root", (*CONTAINERS, i, "securityContext"),
                                       "runAsNonRoot is not true (set it in the pod's or the "
                                       "container's securityContext): nothing stops the "
                                       "container from running as root"))
            if _security(container, pod, "runAsUser") == 0:
                out.append(doc.finding("run-as-non-root", (*CONTAINERS, i, "securityContext",
                                                           "runAsUser"), "runAsUser is 0 (root)"))
    return out


def check_privilege_escalation(docs: list[Doc]) -> list[Finding]:
    """kube-linter privilege-escalation-container: allowPrivilegeEscalation false, no
    privileged containers."""
    out = []
    for doc in of_kind(docs, "Deployment"):
        for i, container in containers(doc):
            path = (*CONTAINERS, i, "securityContext")
            if get(container, "securityContext", "privileged") is True:
                out.append(doc.finding("privileged-container", (*path, "privileged"),
                                       "a privileged container can do anything its node can"))
            if get(container, "securityContext", "allowPrivilegeEscalation") is not False:
                out.append(doc.finding("privilege-escalation-container",
                                       (*path, "allowPrivilegeEscalation"),
                                       "allowPrivilegeEscalation is not false: a setuid binary "
                                       "could make the process root again"))
    return out


def check_read_only_root(docs: list[Doc]) -> list[Finding]:
    """kube-score container-security-context-readonlyrootfilesystem."""
    out = []
    for doc in of_kind(docs, "Deployment"):
        for i, container in containers(doc):
            if get(container, "securityContext", "readOnlyRootFilesystem") is not True:
                out.append(doc.finding("container-security-context-readonlyrootfilesystem",
                                       (*CONTAINERS, i, "securityContext",
                                        "readOnlyRootFilesystem"),
                                       "readOnlyRootFilesystem is not true: an attacker (or a "
                                       "bug) can rewrite the app's own files"))
    return out


SELECTOR_RULE = "deployment-pod-selector-labels-match-template-metadata-labels"


def check_selector(docs: list[Doc]) -> list[Finding]:
    """kube-score: the Deployment's selector selects its own pod template's labels."""
    out = []
    for doc in of_kind(docs, "Deployment"):
        selector = get(doc.data, "spec", "selector")
        labels = template_labels(doc)
        if not selector_matches(selector, labels):
            out.append(doc.finding(SELECTOR_RULE, ("spec", "selector"),
                                   f"the selector {json.dumps(selector)} does not select the "
                                   f"pod template's labels {json.dumps(labels)} "
                                   "(spec.template.metadata.labels): the API server rejects "
                                   "it. Use the same key and value in both"))
    return out


def check_service_targets_pod(docs: list[Doc]) -> list[Finding]:
    """kube-score service-targets-pod: each Service's selector matches a Deployment's pods."""
    out = []
    deployments = of_kind(docs, "Deployment")
    for svc in of_kind(docs, "Service"):
        selector = get(svc.data, "spec", "selector")
        if not isinstance(selector, dict) or not selector:
            out.append(svc.finding("service-targets-pod", ("spec", "selector"),
                                   "no selector: the Service sends traffic to no pod"))
            continue
        if not any(all(template_labels(d).get(str(k)) == str(v) for k, v in selector.items())
                   for d in deployments):
            out.append(svc.finding("service-targets-pod", ("spec", "selector"),
                                   f"{json.dumps(selector)} matches the pods of no Deployment "
                                   "here: copy the pod template's labels"))
    return out


def _targeted(svc: Doc, deployments: list[Doc]) -> list[Doc]:
    selector = get(svc.data, "spec", "selector")
    if not isinstance(selector, dict) or not selector:
        return []
    return [d for d in deployments
            if all(template_labels(d).get(str(k)) == str(v) for k, v in selector.items())]


def check_target_port(docs: list[Doc]) -> list[Finding]:
    """Every Service port's targetPort is a containerPort (number or name) of its pods."""
    out = []
    deployments = of_kind(docs, "Deployment")
    for svc in of_kind(docs, "Service"):
        pods = _targeted(svc, deployments) or deployments
        ports = [p for d in pods for p in container_ports(d)]
        numbers = {n for n, _ in ports if n is not None}
        names = {name for _, name in ports if name}
        for j, port in enumerate(as_list(get(svc.data, "spec", "ports"))):
            if not isinstance(port, dict):
                continue
            target = port.get("targetPort", port.get("port"))
            if (isinstance(target, int) and target in numbers) or str(target) in names:
                continue
            shown = ", ".join([str(n) for n in sorted(numbers)] + sorted(names)) or "none"
            out.append(svc.finding("service-targetport-matches-containerport",
                                   ("spec", "ports", j, "targetPort"),
                                   f"targetPort {target!r} is not a port of the pods "
                                   f"(their containerPorts: {shown}); traffic would go "
                                   "nowhere. targetPort is the container's port, port is the "
                                   "Service's own"))
    return out


def _hpa_target(hpa: Doc, deployments: list[Doc]) -> Doc | None:
    ref = as_dict(get(hpa.data, "spec", "scaleTargetRef"))
    if not isinstance(ref, dict) or ref.get("kind") != "Deployment" or \
            ref.get("apiVersion") != "apps/v1":
        return None
    return next((d for d in deployments if d.name == ref.get("name")), None)


def check_hpa_target(docs: list[Doc]) -> list[Finding]:
    """kube-score horizontalpodautoscaler-has-target: the HPA scales a Deployment that exists."""
    out = []
    deployments = of_kind(docs, "Deployment")
    for hpa in of_kind(docs, "HorizontalPodAutoscaler"):
        if _hpa_target(hpa, deployments) is None:
            ref = get(hpa.data, "spec", "scaleTargetRef")
            names = ", ".join(d.name for d in deployments) or "none"
            out.append(hpa.finding("horizontalpodautoscaler-has-target",
                                   ("spec", "scaleTargetRef"),
                                   f"scaleTargetRef {json.dumps(ref)} names no Deployment "
                                   f"here (Deployments: {names}); it needs apiVersion: "
                                   "apps/v1, kind: Deployment and the Deployment's name"))
    return out


def check_hpa_replicas(docs: list[Doc]) -> list[Finding]:
    """minReplicas of at least 2 (one pod is a single point of failure), below maxReplicas."""
    out = []
    for hpa in of_kind(docs, "HorizontalPodAutoscaler"):
        low = get(hpa.data, "spec", "minReplicas")
        high = get(hpa.data, "spec", "maxReplicas")
        if not isinstance(low, int) or low < 2:
            out.append(hpa.finding("hpa-minimum-replicas", ("spec", "minReplicas"),
                                   f"minReplicas is {low if low is not None else 'unset (1)'}: "
                                   "with one pod, every restart or node drain is an outage. "
                                   "Use at least 2"))
        elif isinstance(high, int) and high <= low:
            out.append(hpa.finding("hpa-minimum-replicas", ("spec", "maxReplicas"),
                                   f"maxReplicas ({high}) leaves the autoscaler no room above "
                                   f"minReplicas ({low})"))
    return out


HPA_REPLICAS_RULE = "deployment-targeted-by-hpa-does-not-have-replicas-configured"


def check_no_fixed_replicas(docs: list[Doc]) -> list[Finding]:
    """kube-score: a Deployment an HPA scales leaves spec.replicas unset."""
    out = []
    deployments = of_kind(docs, "Deployment")
    for hpa in of_kind(docs, "HorizontalPodAutoscaler"):
        target = _hpa_target(hpa, deployments)
        if target is not None and "replicas" in as_dict(get(target.data, "spec")):
            out.append(target.finding(HPA_REPLICAS_RULE, ("spec", "replicas"),
                                      f"spec.replicas is set although {hpa.label} scales this "
                                      "Deployment: every `kubectl apply` resets the count the "
                                      "autoscaler chose. Remove it"))
    return out


def check_rolling_update(docs: list[Doc]) -> list[Finding]:
    """An explicit RollingUpdate strategy that keeps pods serving during a rollout."""
    out = []
    hpas = of_kind(docs, "HorizontalPodAutoscaler")
    for doc in of_kind(docs, "Deployment"):
        strategy = get(doc.data, "spec", "strategy")
        if get(strategy, "type") != "RollingUpdate":
            out.append(doc.finding("deployment-rolling-update", ("spec", "strategy"),
                                   "set strategy.type: RollingUpdate explicitly (with "
                                   "rollingUpdate.maxUnavailable and maxSurge): Recreate stops "
                                   "every pod before starting new ones"))
            continue
        unavailable = get(strategy, "rollingUpdate", "maxUnavailable")
        minimum = min((low if isinstance(low := get(h.data, "spec", "minReplicas"), int)
                       and not isinstance(low, bool) else 1
                       for h in hpas if _hpa_target(h, [doc]) is doc), default=None)
        too_many = unavailable == "100%" or (isinstance(unavailable, int) and minimum and
                                             unavailable >= minimum)
        if too_many:
            out.append(doc.finding("deployment-rolling-update",
                                   ("spec", "strategy", "rollingUpdate", "maxUnavailable"),
                                   f"maxUnavailable {unavailable!r} lets a rollout take every "
                                   "pod down at once: use 0 or 1 (with maxSurge: 1)"))
    return out


def check_configmaps(docs: list[Doc]) -> list[Finding]:
    """ConfigMaps the Deployment uses exist here, and the ones here are used."""
    out = []
    maps = {d.name for d in of_kind(docs, "ConfigMap")}
    used: set[str] = set()
    for doc in of_kind(docs, "Deployment"):
        for i, container in containers(doc):
            refs: list[tuple[tuple[Any, ...], Any, bool]] = []
            for j, source in enumerate(as_list(container.get("envFrom"))):
                ref = get(source, "configMapRef")
                if isinstance(ref, dict):
                    refs.append(((*CONTAINERS, i, "envFrom", j, "configMapRef", "name"),
                                 ref.get("name"), bool(ref.get("optional"))))
            for j, env in enumerate(as_list(container.get("env"))):
                ref = get(env, "valueFrom", "configMapKeyRef")
                if isinstance(ref, dict):
                    refs.append(((*CONTAINERS, i, "env", j, "valueFrom", "configMapKeyRef",
                                  "name"), ref.get("name"), bool(ref.get("optional"))))
            for path, name, optional in refs:
                used.add(str(name))
                if str(name) not in maps and not optional:
                    out.append(doc.finding("configmap-exists", path,
                                           f"uses ConfigMap {name!r}, which these manifests do "
                                           "not define: the pod would stay in "
                                           "CreateContainerConfigError"))
        for volume in as_list(get(doc.data, "spec", "template", "spec", "volumes")):
            name = get(volume, "configMap", "name")
            if name is not None:
                used.add(str(name))
    for cm in of_kind(docs, "ConfigMap"):
        if cm.name not in used:
            out.append(cm.finding("configmap-referenced", ("metadata", "name"),
                                  "no Deployment uses this ConfigMap (envFrom.configMapRef, "
                                  "env.valueFrom.configMapKeyRef or a volume)"))
    return out


MAIN_RULES = {
    "container-resources": check_resources,
    "no-readiness-probe": lambda docs: check_probe(docs, "readiness"),
    "no-liveness-probe": lambda docs: check_probe(docs, "liveness"),
    "container-image-tag": check_image_tag,
    "run-as-non-root": check_run_as_non_root,
    "privilege-escalation-container": check_privilege_escalation,
    "container-security-context-readonlyrootfilesystem": check_read_only_root,
    SELECTOR_RULE: check_selector,
    "service-targets-pod": check_service_targets_pod,
    "service-targetport-matches-containerport": check_target_port,
    "horizontalpodautoscaler-has-target": check_hpa_target,
    "hpa-minimum-replicas": check_hpa_replicas,
    HPA_REPLICAS_RULE: check_no_fixed_replicas,
    "deployment-rolling-update": check_rolling_update,
    "configmap-exists": check_configmaps,
}


ADVICE = {
    "container-resources": "under each container, resources: {requests: {cpu: 100m, memory: "
                           "128Mi}, limits: {cpu: 500m, memory: 256Mi}}",
    "no-readiness-probe": "readinessProbe: {httpGet: {path: /health, port: 8000}, "
                          "periodSeconds: 5}",
    "no-liveness-probe": "livenessProbe: {httpGet: {path: /health, port: 8000}, "
                         "initialDelaySeconds: 10, periodSeconds: 10}",
    "container-image-tag": "image: registry.example.com/penguin-api:1.0.0",
    "run-as-non-root": "securityContext: {runAsNonRoot: true, runAsUser: 10001} in the pod "
                       "spec (a numeric user lets the kubelet verify it)",
    "privilege-escalation-container": "in the container's securityContext: "
                                      "allowPrivilegeEscalation: false",
    "container-security-context-readonlyrootfilesystem": "in the container's securityContext: "
                                                         "readOnlyRootFilesystem: true (the "
                                                         "app writes no files)",
    SELECTOR_RULE: "give spec.selector.matchLabels exactly the labels of "
                   "spec.template.metadata.labels, e.g. app.kubernetes.io/name: penguin-api",
    "service-targets-pod": "the Service's spec.selector holds the pod template's labels",
    "service-targetport-matches-containerport": "targetPort: http (the name of the "
                                                "containerPort 8000) or targetPort: 8000",
    "horizontalpodautoscaler-has-target": "scaleTargetRef: {apiVersion: apps/v1, kind: "
                                          "Deployment, name: penguin-api}",
    "hpa-minimum-replicas": "minReplicas: 2 and a larger maxReplicas",
    HPA_REPLICAS_RULE: "delete spec.replicas from the Deployment",
    "deployment-rolling-update": "strategy: {type: RollingUpdate, rollingUpdate: "
                                 "{maxUnavailable: 0, maxSurge: 1}}",
    "configmap-exists": "either leave configmap.yaml as comments and use no ConfigMap, or "
                        "define it there and use it from the container with envFrom: "
                        "[{configMapRef: {name: <its name>}}]",
    "probe-targets-app": "httpGet: {path: /health, port: http} where http names "
                         "containerPort 8000",
}


def lint(docs: list[Doc]) -> list[Finding]:
    """Every best-practice finding on a set of documents (the notebook's table)."""
    return [f for rule in MAIN_RULES.values() for f in rule(docs)]


# -- warm-ups: five broken files, one bug each ------------------------------------------------

def _warmup_indentation(docs: list[Doc]) -> list[Finding]:
    out = []
    for doc in of_kind(docs, "Deployment"):
        for i, container in containers(doc):
            names = [get(e, "name") for e in as_list(container.get("env"))]
            if "LOG_LEVEL" not in names:
                out.append(doc.finding("warmup-intent", (*CONTAINERS, i, "env"),
                                       "the container should still get LOG_LEVEL through its "
                                       "env list: move env, do not delete it"))
    return out


def _warmup_resources(docs: list[Doc]) -> list[Finding]:
    return check_resources(docs) + check_requests_within_limits(docs)


def _warmup_service(docs: list[Doc]) -> list[Finding]:
    return check_service_targets_pod(docs) + check_target_port(docs)


WARMUP_RULES = {
    "warmup-indentation": ("schema", _warmup_indentation,
                           "indent env under the container (at the level of image and ports), "
                           "not under the pod spec"),
    "warmup-resources": ("container-resources", _warmup_resources,
                         "a request is what the pod is guaranteed, a limit the most it may "
                         "use: the request can never be larger"),
    "warmup-selector": (SELECTOR_RULE, check_selector,
                        "spec.selector.matchLabels must equal (a subset of) "
                        "spec.template.metadata.labels"),
    "warmup-service-port": ("service-targetport-matches-containerport", _warmup_service,
                            "a Service's targetPort is the container's port (number or name), "
                            "not the Service's own port"),
    "warmup-hpa-target": ("horizontalpodautoscaler-has-target", check_hpa_target,
                          "scaleTargetRef needs apiVersion apps/v1, kind Deployment and the "
                          "exact name of the Deployment"),
}


# The objects each warm-up file holds in the starter: the fix must keep them (same kind and
# name), or replacing the file with any valid object would pass its rule.
WARMUP_OBJECTS = {
    "warmup-indentation": (("Deployment", "warmup-indentation"),),
    "warmup-resources": (("Deployment", "warmup-resources"),),
    "warmup-selector": (("Deployment", "warmup-selector"),),
    "warmup-service-port": (("Deployment", "warmup-service-port"),
                            ("Service", "warmup-service-port")),
    "warmup-hpa-target": (("Deployment", "warmup-hpa-target"),
                          ("HorizontalPodAutoscaler", "warmup-hpa-target")),
}


def check_warmup_objects(found: Manifest, task: str) -> list[Finding]:
    """The broken objects are still there, fixed in place: same kind, same name."""
    have = {(d.kind, d.name) for d in found.docs}
    return [Finding("warmup-same-object", found.file, 0, f"{kind}/{name}", "",
                    f"the file no longer holds the {kind} named {name!r} that was broken: fix "
                    "that object in place (same kind and metadata.name) instead of replacing "
                    "it with another")
            for kind, name in WARMUP_OBJECTS[task] if (kind, name) not in have]


def check_warmup(found: Manifest, task: str) -> list[Finding]:
    """Schema problems, the broken objects still there, and the warm-up's own rule."""
    findings = file_schema_findings(found, None) + api_server_findings(found.docs)
    findings += check_warmup_objects(found, task)
    _, rule, _ = WARMUP_RULES[task]
    return findings + [f for f in rule(found.docs) if f not in findings]
