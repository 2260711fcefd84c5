"""Course-owned harness for r-statistics: run the learner's ``analysis.R`` with Rscript.

It runs inside the worker (its working folder is the copy of the submission) and only
computes: it writes each dataset the grader sends into a temporary CSV, runs R, and hands back
what the learner's functions returned (or the error they raised) as plain data. It holds no
expected values; the grader compares with its own scipy/numpy results.
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

SCRIPT = "analysis.R"
R_SECONDS = 25  # below the exercise's call budget, so a hang is reported as such
NOT_IMPLEMENTED = re.compile(r"not implemented", re.IGNORECASE)

# Calls the learner's functions one by one: each job is {"fn", "csv", "args"}; a failing call
# does not stop the others. Values go back as JSON with every digit (digits = NA), named
# vectors as objects, data frames as objects of columns.
DRIVER = r"""
args <- commandArgs(trailingOnly = TRUE)
jobs <- jsonlite::fromJSON(args[1], simplifyVector = FALSE)
out_path <- args[2]

plain <- function(x) {
  if (is.data.frame(x)) return(list(`$data.frame` = lapply(as.list(x), plain)))
  if (is.factor(x)) x <- as.character(x)
  if (is.list(x)) return(lapply(x, plain))
  if (is.atomic(x) && !is.null(names(x)) && length(x) > 0) return(as.list(x))
  if (is.atomic(x) && length(x) == 0) return(list())
  if (is.atomic(x) && length(x) > 1) return(as.list(x))
  if (is.atomic(x)) return(x)
  list(`$class` = paste(class(x), collapse = " "))
}

learner <- new.env()
loaded <- tryCatch({
  sys.source("analysis.R", envir = learner, toplevel.env = learner)
  NULL
}, error = function(e) conditionMessage(e))
if (!is.null(loaded)) {
  jsonlite::write_json(list(load_error = loaded), out_path, auto_unbox = TRUE)
  quit(save = "no", status = 0)
}

results <- lapply(jobs, function(job) {
  fn <- get0(job$fn, envir = learner, mode = "function", inherits = FALSE)
  if (is.null(fn)) return(list(missing = TRUE))
  df <- read.csv(job$csv)
  tryCatch(list(ok = plain(do.call(fn, c(list(df), job$args)))),
           error = function(e) list(error = conditionMessage(e)))
})
jsonlite::write_json(list(results = results), out_path, auto_unbox = TRUE, digits = NA,
                     null = "null", na = "null")
"""


class RFailed(RuntimeError):
    """R could not run the learner's script (a syntax error, a crash, a hang)."""


def _rscript() -> str:
    found = shutil.which("Rscript")
    if found is None:
        raise RFailed("Rscript was not found on PATH: install R (Debian/Ubuntu: r-base-core)")
    return found


def _run(command: list[str], what: str) -> subprocess.CompletedProcess[bytes]:
    try:
        proc = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=R_SECONDS, check=False)
    except subprocess.TimeoutExpired as exc:
        _forward((exc.stdout or b"") + (exc.stderr or b""))
        raise RFailed(f"{what} ran longer than {R_SECONDS} s and was stopped") from None
    _forward(proc.stdout + proc.stderr)
    return proc


def call(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Call functions of analysis.R: each job is {"fn", "csv" (text), "args" (a list)}.

    Returns one entry per job: {"ok": value}, {"error": message}, {"not_implemented": True}
    or {"missing": True}. Each job's data frame is ``read.csv`` of its CSV text.
    """
    folder = tempfile.mkdtemp()
    try:
        specs = []
        for i, job in enumerate(jobs):
            path = os.path.join(folder, f"data{i}.csv")
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(job["csv"])
            specs.append({"fn": job["fn"], "csv": path, "args": job.get("args", [])})
        driver = os.path.join(folder, "driver.R")
        inputs = os.path.join(folder, "jobs.json")
        outputs = os.path.join(folder, "results.json")
        with open(driver, "w", encoding="utf-8") as fh:
            fh.write(DRIVER)
        with open(inputs, "w", encoding="utf-8") as fh:
            json.dump(specs, fh)
        proc = _run([_rscript(), "--vanilla", "--default-packages=stats,utils", driver, inputs,
                     outputs], f"R running {SCRIPT}")
        if not os.path.exists(outputs):
            raise RFailed(f"R stopped (exit code {proc.returncode}) before finishing: "
                          + _tail(proc.stderr))
        with open(outputs, encoding="utf-8") as fh:
            data = json.load(fh)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if "load_error" in data:
        raise RFailed(f"{SCRIPT} could not be loaded by R: {data['load_error']}")
    results = []
    for result in data["results"]:
        if "error" in result:
            message = str(result["error"])
            results.append({"not_implemented": True} if NOT_IMPLEMENTED.search(message)
                           else {"error": message[:2000]})
        else:
            results.append(result)
    return results


def report(csv: str) -> dict[str, Any]:
    """Run ``Rscript analysis.R in.csv out.json`` as a learner would; the JSON it wrote."""
    folder = tempfile.mkdtemp()
    try:
        source = os.path.join(folder, "penguins.csv")
        target = os.path.join(folder, "results.json")
        with open(source, "w", encoding="utf-8") as fh:
            fh.write(csv)
        proc = _run([_rscript(), "--vanilla", SCRIPT, source, target],
                    f"Rscript {SCRIPT} penguins.csv results.json")
        stderr = proc.stderr.decode("utf-8", "replace")
        if proc.returncode != 0:
            if NOT_IMPLEMENTED.search(stderr):
                return {"not_implemented": True}
            return {"error": f"Rscript {SCRIPT} exited with code {proc.returncode}: "
                             + _tail(proc.stderr)}
        if not os.path.exists(target):
            return {"error": f"Rscript {SCRIPT} in.csv out.json finished without writing out.json"}
        with open(target, encoding="utf-8") as fh:
            text = fh.read(10_000_000)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    try:
        return {"ok": json.loads(text)}
    except ValueError as exc:
        return {"error": f"the file main() wrote is not valid JSON ({exc})"}


def _tail(stderr: bytes) -> str:
    return " | ".join(stderr.decode("utf-8", "replace").strip().splitlines()[-6:])


def _forward(output: bytes) -> None:
    """What the script printed, shown to the learner like Python prints."""
    if output:
        sys.stderr.write(output[-4000:].decode("utf-8", "replace"))
