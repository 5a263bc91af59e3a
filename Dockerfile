# syntax=docker/dockerfile:1
# Two deployables from one distribution:
#   docker build --target runtime  -t ghcr.io/huleedu/huleedu-runtime .   (services build FROM it)
#   docker build --target operator -t ghcr.io/huleedu/huleedu-operator .
# Wheels are built in a throwaway stage so no build tools reach the final images.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator/ operator/
COPY runtime/ runtime/
RUN pip wheel --wheel-dir /wheels '.[runtime,operator]'

FROM python:3.11-slim AS runtime
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 PORT=8001 METRICS_PORT=9090
COPY --from=build /wheels /wheels
# DL3013 (pin pip versions): --no-index installs only the wheels built above, so the
# versions are whatever the build stage resolved; pinning here would repeat them.
# hadolint ignore=DL3013
RUN pip install --no-index --find-links=/wheels 'huleedu-operator[runtime]' \
    && rm -rf /wheels \
    && useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin huleedu
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

FROM python:3.11-slim AS operator
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /wheels /wheels
# DL3013: as in the runtime stage, only the build stage's wheels are installed.
# hadolint ignore=DL3013
RUN pip install --no-index --find-links=/wheels 'huleedu-operator[operator]' \
    && rm -rf /wheels \
    && useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin huleedu
USER 10001
ENTRYPOINT ["huleedu-operator", "run"]
