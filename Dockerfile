# syntax=docker/dockerfile:1
# One image for every orderflow process; the command picks the service:
#   docker run orderflow python -m orderflow.services.status_tracker
#   docker run orderflow python -m orderflow.shared.provision
# Build: docker build -t orderflow:local .   (BuildKit, the default builder since Docker 23)

ARG PYTHON_IMAGE=python:3.11-slim

# --- build: wheels of orderflow and of its runtime dependencies (no dev, no local extras) ---
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
# The dependencies first, exactly as locked (every version pinned, every file's hash checked:
# deploy/README.md "The image" says how to refresh the lock), in a layer of their own.
COPY requirements.lock ./
RUN pip wheel --require-hashes --wheel-dir /wheels -r requirements.lock
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
# orderflow itself, without resolving anything again: its dependencies are the locked wheels.
RUN pip wheel --no-deps --wheel-dir /wheels .

# --- runtime: the installed wheel, the example tenants, a non-root user ---
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="orderflow" \
      org.opencontainers.image.description="Order-status events in, rewards, commissions and notifications out" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# A fixed numeric uid, so Kubernetes can verify runAsNonRoot without a passwd lookup.
RUN groupadd --system --gid 10001 orderflow \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin orderflow

# Installed from the build stage's wheels only (--no-index --no-deps): what runs is the locked
# set that was built, and the wheels are bind-mounted rather than copied so they add no layer.
# Versions are pinned by requirements.lock, so hadolint's "pin versions in pip" does not apply.
# hadolint ignore=DL3013
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --no-deps /wheels/*.whl \
    && pip check

WORKDIR /app
# Owned by root and read-only to the service user; deployments may mount their own directory here.
COPY config/tenants /app/config/tenants

# Containers listen on every interface and, unless told otherwise, on 8080, which is also
# the port the HEALTHCHECK below asks. Compose and Kubernetes set ORDERFLOW_HTTP_PORT per service.
ENV ORDERFLOW_HTTP_HOST=0.0.0.0 \
    ORDERFLOW_HTTP_PORT=8080 \
    ORDERFLOW_TENANTS_DIR=/app/config/tenants

USER 10001:10001
EXPOSE 8080

# The slim image has no curl; Python is there anyway. /readyz answers 503 until the service
# is connected to the broker and the database, which urlopen turns into a non-zero exit.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('ORDERFLOW_HTTP_PORT', '8080') + '/readyz', timeout=3)"]

# Exec form: Python is PID 1 and gets SIGTERM itself (the service drains in under 10 s).
STOPSIGNAL SIGTERM
CMD ["python", "-m", "orderflow.services.ingest"]
