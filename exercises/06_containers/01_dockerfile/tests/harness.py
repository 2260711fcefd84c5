"""Course-owned harness for the dockerfile exercise, run inside the worker.

The grader's process reads the learner's Dockerfile, decides which files the image would hold,
where the command runs and with which arguments, and sends that plan here as plain data. This
module only carries it out: it writes the files into a private folder standing in for the
image's root, starts the command there (a list of arguments, never a shell) on the port the
Dockerfile declares (a free 127.0.0.1 port when that one is taken), sends the requests it was
given and hands back what came back. It never runs a
RUN line and never fetches anything. It knows no expected answer: the grader judges.

Sentinels in the plan: ``@PYTHON@`` is this interpreter, ``@ROOT@`` the folder standing in for
``/``, ``@PORT@`` the port chosen here.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath
from typing import Any

LOG_CAP = 6000
# What pip, apt and curl print when the network is off: the build failed for the machine's
# sake, not the Dockerfile's (searched in the last LOG_CAP characters only).
OFFLINE_FAILURE = re.compile(r"Temporary failure in name resolution|Network is unreachable|"
                             r"Failed to establish a new connection|Could not resolve host|"
                             r"No matching distribution found")
BODY_CAP = 1 << 20
PROBE_SECONDS = 10.0


def ready() -> bool:
    """Answer once the worker runs, so the grader can read the submission's files."""
    return True


def _free_port(wanted: int | None = None) -> int:
    """``wanted`` (the image's declared port) when it is free here, else any free port.

    A worker with its own network namespace always has the declared port free; one that
    shares the machine's loopback (tier C, or a class graded in parallel) may not.
    """
    for port in ([wanted] if wanted else []) + [0]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise OSError("no free port on 127.0.0.1")


def _inside(root: Path, image_path: str) -> Path:
    """The place of an absolute image path under ``root``; refuses anything that escapes."""
    pure = PurePosixPath(image_path)
    if not pure.is_absolute() or ".." in pure.parts:
        raise ValueError(f"not a clean absolute path: {image_path!r}")
    return root.joinpath(*pure.parts[1:])


def _fill(text: str, root: Path, port: int) -> str:
    return (text.replace("@PYTHON@", sys.executable).replace("@ROOT@", str(root))
            .replace("@PORT@", str(port)))


def _tail(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    return data[-LOG_CAP:].decode("utf-8", "replace")


def _request(port: int, spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    """One HTTP request to the server; the answer's status, content type and capped body."""
    body = spec.get("body")
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{spec['path']}", method=spec.get("method", "GET"),
        data=body.encode() if isinstance(body, str) else None,
        headers={"Content-Type": "application/json"} if body is not None else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return {"status": int(resp.status), "type": str(resp.headers.get_content_type()),
                    "body": resp.read(BODY_CAP).decode("utf-8", "replace"), "error": ""}
    except urllib.error.HTTPError as exc:
        return {"status": int(exc.code), "type": str(exc.headers.get_content_type()),
                "body": exc.read(BODY_CAP).decode("utf-8", "replace"), "error": ""}
    except (OSError, ValueError) as exc:  # refused, reset, timed out, not HTTP
        return {"status": 0, "type": "", "body": "", "error": f"{type(exc).__name__}: {exc}"}


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server and everything it started (its own process group)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=3)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)  # children that outlived the leader
            return
        except subprocess.TimeoutExpired:
            continue


def serve(files: dict[str, bytes], workdir: str, argv: list[str], env: dict[str, str],
          requests: list[dict[str, Any]], probe: list[str] | None = None,
          start_seconds: float = 20.0, request_seconds: float = 10.0,
          port: int | None = None) -> dict[str, Any]:
    """Lay out ``files``, start ``argv`` in ``workdir``, send ``requests``; report what happened.

    The server gets ``port`` (the one the Dockerfile declares) unless it is taken here.
    ``probe`` (the HEALTHCHECK command, if one can run) is run once the server answers.
    """
    home = Path(tempfile.mkdtemp(prefix="image-"))
    root = home / "root"
    log_path = home / "server.log"
    out: dict[str, Any] = {"started": False, "exit_code": None, "seconds": 0.0,
                           "responses": [], "probe": None, "log": "", "error": ""}
    proc: subprocess.Popen[bytes] | None = None
    try:
        for image_path, data in files.items():
            target = _inside(root, image_path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        cwd = _inside(root, workdir)
        cwd.mkdir(parents=True, exist_ok=True)
        port = _free_port(port)
        out["port"] = port
        command = [_fill(a, root, port) for a in argv]
        run_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
                   "TMPDIR": str(home), "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
        run_env.update({k: _fill(v, root, port) for k, v in env.items()})
        start = time.monotonic()
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(command, cwd=cwd, env=run_env, stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT, process_group=0,
                                    close_fds=True)
        deadline = start + start_seconds
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                out["exit_code"] = proc.returncode
                break
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.settimeout(0.5)
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    out["started"] = True
                    break
            time.sleep(0.1)
        out["seconds"] = round(time.monotonic() - start, 3)
        if out["started"]:
            out["responses"] = [_request(port, spec, request_seconds) for spec in requests]
            if probe:
                out["probe"] = _run_probe([_fill(a, root, port) for a in probe], cwd, run_env)
        if proc.poll() is not None:
            out["exit_code"] = proc.returncode
    except (OSError, ValueError) as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        if proc is not None:
            _stop(proc)
        out["log"] = _tail(log_path).replace(str(root), "")  # paths as the image has them
        shutil.rmtree(home, ignore_errors=True)
    return out


def _run_probe(argv: list[str], cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    """Run the HEALTHCHECK command once, as Docker would inside the running container."""
    program = argv[0]
    if "/" not in program:
        found = shutil.which(program, path=env.get("PATH"))
        if found is None:
            return {"exit_code": None, "output": "", "missing": program}
        argv = [found, *argv[1:]]
    try:
        done = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=PROBE_SECONDS, check=False,
                              process_group=0)
    except subprocess.TimeoutExpired:
        return {"exit_code": None, "output": f"still running after {PROBE_SECONDS:g} s",
                "missing": ""}
    except OSError as exc:
        return {"exit_code": None, "output": str(exc), "missing": ""}
    text = (done.stdout + done.stderr)[-LOG_CAP:].decode("utf-8", "replace")
    return {"exit_code": done.returncode, "output": text, "missing": ""}


def docker_build_argv(docker: str, tag: str, context: str) -> list[str]:
    """The build command: no network for RUN steps, never a pull, no build-time cache reuse.

    With ``--network=none`` a RUN line can fetch nothing (so a Dockerfile that must download
    its dependencies does not build here: the image checks are optional, worth no points), and
    ``--pull=false`` with the base images checked beforehand means only allow-listed images
    already on the machine are used.
    """
    return [docker, "build", "--network=none", "--pull=false", "--no-cache", "--rm",
            "--force-rm", "-t", tag, context]


def docker_run_argv(docker: str, name: str, tag: str, host_port: int,
                    container_port: int) -> list[str]:
    """The run command: no capabilities, no privilege gain, capped memory, loopback only."""
    return [docker, "run", "-d", "--rm", "--name", name, "--cap-drop", "ALL",
            "--security-opt", "no-new-privileges", "--memory", "512m", "--pids-limit", "256",
            "-p", f"127.0.0.1:{host_port}:{container_port}", tag]


def docker_image(context: dict[str, str | bytes], container_port: int,
                 requests: list[dict[str, Any]], docker_host: str | None = None,
                 base_images: list[str] | None = None, build_seconds: float = 240.0,
                 start_seconds: float = 30.0) -> dict[str, Any]:
    """Build the learner's image with a Docker engine, run it, send ``requests``; report.

    ``context`` maps paths of the build context (the Dockerfile included) to their bytes;
    ``docker_host`` is the engine's endpoint as the grader found it (no credentials travel);
    ``base_images`` are the allow-listed images the Dockerfile starts FROM: each must already
    be on the machine (nothing is pulled). The grader only calls this after its own checks
    found the file parseable, without remote code, and on allow-listed bases.
    """
    docker = shutil.which("docker")
    out: dict[str, Any] = {"built": False, "started": False, "responses": [], "log": "",
                           "error": ""}
    if docker is None:
        out["error"] = "the docker command is not installed"
        return out
    home = Path(tempfile.mkdtemp(prefix="docker-"))
    tag = f"ml-engineer-lab-dockerfile:{os.getpid()}-{int(time.time())}"
    name = tag.replace(":", "-")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}
    if docker_host:
        env["DOCKER_HOST"] = docker_host
    try:
        for image in base_images or []:
            found = subprocess.run([docker, "image", "inspect", "--format", "{{.Id}}", image],
                                   env=env, capture_output=True, timeout=30, check=False)
            if found.returncode != 0:
                out["error"] = (f"the base image {image} is not on this machine, and the grader "
                                "never pulls one (an instructor can `docker pull` it)")
                out["environment"] = out["error"]
                return out
        ctx = home / "context"
        for rel, data in context.items():
            target = _inside(ctx, "/" + rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data.encode() if isinstance(data, str) else data)
        build = subprocess.run(docker_build_argv(docker, tag, str(ctx)),
                               env=env, capture_output=True, timeout=build_seconds, check=False)
        out["log"] = (build.stdout + build.stderr)[-LOG_CAP:].decode("utf-8", "replace")
        if build.returncode != 0:
            out["error"] = f"docker build exited with {build.returncode}"
            if OFFLINE_FAILURE.search(out["log"]):
                out["environment"] = ("a RUN step needed the network (e.g. pip downloading "
                                      "requirements), which the offline build does not give; an "
                                      "instructor can provide a base image with them installed")
            return out
        out["built"] = True
        port = _free_port()
        run = subprocess.run(docker_run_argv(docker, name, tag, port, container_port),
                             env=env, capture_output=True, timeout=30, check=False)
        if run.returncode != 0:
            out["error"] = f"docker run exited with {run.returncode}: " + \
                run.stderr[-LOG_CAP:].decode("utf-8", "replace")
            return out
        deadline = time.monotonic() + start_seconds
        while time.monotonic() < deadline:
            probe = _request(port, {"path": "/health"}, 1.0)
            if probe["status"]:
                out["started"] = True
                break
            time.sleep(0.3)
        if out["started"]:
            out["responses"] = [_request(port, spec, 10.0) for spec in requests]
        logs = subprocess.run([docker, "logs", name], env=env, capture_output=True, timeout=20,
                              check=False)
        out["log"] = (logs.stdout + logs.stderr)[-LOG_CAP:].decode("utf-8", "replace")
    except subprocess.TimeoutExpired as exc:
        out["error"] = f"{exc.cmd[1] if isinstance(exc.cmd, list) else 'docker'} took longer " \
                       f"than {exc.timeout:g} s"
    except (OSError, ValueError) as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        for cleanup in ([docker, "rm", "-f", name], [docker, "rmi", "-f", tag]):
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                subprocess.run(cleanup, env=env, capture_output=True, timeout=30, check=False)
        shutil.rmtree(home, ignore_errors=True)
    return out
