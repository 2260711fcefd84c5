# A grading worker for ML Engineer Lab: the course, its virtual environment and the optional
# runtimes (bubblewrap for isolation tier A, R, Node.js). Built and pushed by the instructor;
# run as `grader worker tcp://SCHEDULER:8786` (docs/scaling.md). Not a learner's image.
FROM python:3.11.11-slim-bookworm

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        bubblewrap=0.8.0-2+deb12u1 \
        r-base-core=4.2.2.20221110-2 \
        r-cran-jsonlite=1.8.4+dfsg-1 \
        r-cran-mass=7.3-58.2-1 \
        nodejs=18.20.4+dfsg-1~deb12u3 \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 grader
WORKDIR /course

# Dependencies first, so a course edit does not reinstall them.
COPY --chown=grader:grader pyproject.toml README.md ./
COPY --chown=grader:grader grader/ ./grader/
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir -e '.[nbgrader]'
ENV PATH=/opt/venv/bin:$PATH

COPY --chown=grader:grader . .
USER 10001

# The worker connects out to the scheduler; nothing listens here.
ENTRYPOINT ["grader", "worker"]
CMD ["tcp://dask-scheduler:8786"]
