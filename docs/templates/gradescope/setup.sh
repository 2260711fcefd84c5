#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image.
# The zip's contents (this course, with hidden tests) are in /autograder/source.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
PY=""
for candidate in python3.13 python3.12 python3.11; do
    if command -v "$candidate" >/dev/null; then PY="$candidate"; break; fi
done
if [ -z "$PY" ]; then  # Ubuntu 22.04 base image: Python 3.10 only
    apt-get update
    apt-get install -y --no-install-recommends python3.11 python3.11-venv
    PY=python3.11
fi
apt-get install -y --no-install-recommends "${PY}-venv" make 2>/dev/null || true
# CPU-only torch wheels: the default ones pull gigabytes of CUDA libraries.
export PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu
"$PY" -m venv /autograder/venv
/autograder/venv/bin/python -m pip install --quiet --upgrade pip
/autograder/venv/bin/python -m pip install --quiet -e /autograder/source
# Smoke test while building: the reference folder is absent, so this grades the starters.
/autograder/venv/bin/grader --course /autograder/source grade --quiet
