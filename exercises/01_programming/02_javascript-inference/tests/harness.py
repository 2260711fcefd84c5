"""Course-owned harness for javascript-inference: run the learner's ``predict.mjs`` with Node.js.

It runs inside the worker (its working folder is the copy of the submission) and only
computes: it writes the calls to make into a temporary JSON file, runs a small driver module
with ``node`` that imports ``predict.mjs`` and makes them, and hands back what each call
returned (or threw) as plain data. It holds no expected values; the grader compares.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from typing import Any

MODULE = "predict.mjs"
NODE_SECONDS = 5  # below the exercise's call budget, so a hang is reported as such
NOT_IMPLEMENTED = re.compile(r"not implemented", re.IGNORECASE)

DRIVER = r"""
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [modulePath, inputPath, outputPath] = process.argv.slice(2);
const jobs = JSON.parse(readFileSync(inputPath, "utf8"));

function describe(e) {
  if (e instanceof Error) return { name: e.name, message: String(e.message).slice(0, 2000) };
  return { name: typeof e, message: String(e).slice(0, 2000) };
}

function encode(value, depth = 0) {
  if (depth > 20) return { $: "too deep" };
  if (typeof value === "number") {
    return Number.isFinite(value) ? value : { $: "number", value: String(value) };
  }
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (value === undefined) return { $: "undefined" };
  if (Array.isArray(value) || ArrayBuffer.isView(value)) {
    return Array.from(value, (v) => encode(v, depth + 1));
  }
  return { $: Object.prototype.toString.call(value) };
}

let mod;
try {
  mod = await import(pathToFileURL(modulePath).href);
} catch (e) {
  writeFileSync(outputPath, JSON.stringify({ importError: describe(e) }));
  process.exit(0);
}

const results = [];
for (const job of jobs) {
  const fn = mod[job.fn];
  if (typeof fn !== "function") {
    results.push({ missing: true });
    continue;
  }
  const before = JSON.stringify(job.args);
  try {
    const value = fn(...job.args);
    results.push({ ok: encode(value), mutated: JSON.stringify(job.args) !== before });
  } catch (e) {
    results.push({ error: describe(e) });
  }
}
writeFileSync(outputPath, JSON.stringify({ results }));
"""


class NodeFailed(RuntimeError):
    """Node.js could not run the module (a syntax error, a crash, a hang)."""


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if value.get("$") == "number":
            return float(value.get("value", "nan").replace("Infinity", "inf"))
        return {"js_type": str(value.get("$"))}
    return value


def run(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Call ``predict.mjs`` exports: each job is {"fn": name, "args": [...]}.

    Returns one entry per job: {"ok": value, "mutated": bool}, {"error": "Name: message"},
    {"not_implemented": True} (it threw "not implemented") or {"missing": True}.
    """
    node = shutil.which("node")
    if node is None:
        raise NodeFailed("node was not found on PATH: install Node.js 18 or newer")
    folder = tempfile.mkdtemp()
    try:
        driver = os.path.join(folder, "driver.mjs")
        inputs = os.path.join(folder, "jobs.json")
        outputs = os.path.join(folder, "results.json")
        with open(driver, "w", encoding="utf-8") as fh:
            fh.write(DRIVER)
        with open(inputs, "w", encoding="utf-8") as fh:
            json.dump(jobs, fh)
        try:
            proc = subprocess.run(
                [node, "--max-old-space-size=512", driver, os.path.abspath(MODULE), inputs,
                 outputs], stdin=subprocess.DEVNULL, capture_output=True,
                timeout=NODE_SECONDS, check=False)
        except subprocess.TimeoutExpired as exc:
            _forward((exc.stdout or b"") + (exc.stderr or b""))
            raise NodeFailed(f"{MODULE} ran longer than {NODE_SECONDS} s in Node.js (an endless "
                             "loop?) and was stopped") from None
        _forward(proc.stdout + proc.stderr)
        if not os.path.exists(outputs):
            tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-6:]
            raise NodeFailed(f"Node.js stopped (exit code {proc.returncode}) before finishing: "
                             + " | ".join(tail))
        with open(outputs, encoding="utf-8") as fh:
            data = json.load(fh)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if "importError" in data:
        err = data["importError"]
        raise NodeFailed(f"{MODULE} could not be loaded by Node.js: {err['name']}: "
                         f"{err['message']}")
    results = []
    for result in data["results"]:
        if "error" in result:
            err = result["error"]
            if NOT_IMPLEMENTED.search(err["message"]):
                results.append({"not_implemented": True})
                continue
            results.append({"error": f"{err['name']}: {err['message']}"})
        elif "missing" in result:
            results.append({"missing": True})
        else:
            results.append({"ok": _decode(result["ok"]), "mutated": bool(result["mutated"])})
    return results


def _forward(output: bytes) -> None:
    """What the module printed (console.log), shown to the learner like Python prints."""
    if output:
        sys.stderr.write(output[-4000:].decode("utf-8", "replace"))
