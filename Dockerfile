# syntax=docker/dockerfile:1
# Two deployables from one distribution:
#   docker build --target runtime  -t ghcr.io/huleedu/huleedu-runtime .   (services build FROM it)
#   docker build --target operator -t ghcr.io/huleedu/huleedu-operator .
# Wheels are built in a throwaway stage so no build tools reach the final images.
#
# PYTHON_IMAGE is the base of every stage. Docker users keep the default (the public
# python image). The local test ground has no registry, so scripts/lib/images.sh passes
# a base it built from Debian packages (python3 + pip, the same layout for pip).
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Dependencies first, from pyproject.toml alone: this layer survives any code change.
# The project is built once with empty packages (a "stub" wheel with the real metadata
# and entry points), so /wheels/deps holds every dependency plus that stub; the final
# stages install from it in a layer of their own, and a one-line code change rebuilds
# only our wheel (offline, no build isolation) and the small layer that installs it.
# The cache mount keeps pip's downloads when pyproject.toml changes.
COPY pyproject.toml README.md ./
RUN --mount=type=cache,target=/root/.cache/pip \
    mkdir -p operator/huleedu_operator runtime/huleedu_runtime \
    && touch operator/huleedu_operator/__init__.py runtime/huleedu_runtime/__init__.py \
    && pip wheel --wheel-dir /wheels/deps '.[runtime,operator]' 'hatchling>=1.25,<2' \
    && pip install --no-index --find-links=/wheels/deps 'hatchling>=1.25,<2' \
    && rm -rf operator runtime
COPY operator/ operator/
COPY runtime/ runtime/
RUN pip wheel --no-deps --no-build-isolation --wheel-dir /wheels/app .

FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 PORT=8001 METRICS_PORT=9090
COPY --from=build /wheels/deps /wheels/deps
# DL3013 (pin pip versions): --no-index installs only the wheels built above, so the
# versions are whatever the build stage resolved; pinning here would repeat them.
# hadolint ignore=DL3013
RUN pip install --no-index --find-links=/wheels/deps 'huleedu-operator[runtime]' \
    && rm -rf /wheels \
    && useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin huleedu
COPY --from=build /wheels/app /wheels/app
# Our own wheel replaces the stub; its dependencies are already in the layer above.
RUN pip install --no-index --no-deps --force-reinstall /wheels/app/*.whl \
    && rm -rf /wheels
WORKDIR /app
# The examples are the runtime's hello-world: a HuleEduService without image/command
# runs examples.content_service (http) or examples.event_worker (worker) from here.
COPY --chown=10001:10001 examples/ /app/examples/
USER 10001
EXPOSE 8001 9090
# No ENTRYPOINT: a service image sets CMD ["huleedu-runtime", "serve-http", "pkg.app:app"]
# and the operator may set the pod's command; exec form keeps Python as PID 1 so
# it receives SIGTERM itself.
CMD ["huleedu-runtime", "--help"]

FROM ${PYTHON_IMAGE} AS operator
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /wheels/deps /wheels/deps
# DL3013: as in the runtime stage, only the build stage's wheels are installed.
# hadolint ignore=DL3013
RUN pip install --no-index --find-links=/wheels/deps 'huleedu-operator[operator]' \
    && rm -rf /wheels \
    && useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin huleedu
COPY --from=build /wheels/app /wheels/app
RUN pip install --no-index --no-deps --force-reinstall /wheels/app/*.whl \
    && rm -rf /wheels
USER 10001
ENTRYPOINT ["huleedu-operator", "run"]
