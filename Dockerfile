# syntax=docker/dockerfile:1
# MPIC Fleet runtime image: one image for both roles (and the Kubernetes resolver sidecar).
# Its build context is dist/image/, written by `./scripts/mpic build image-context`: this file and
# the built wheelhouses. The image installs exactly the wheels a host installs, pinned by sha256,
# from the context (no package index):
#
#   ./scripts/mpic build image-context
#   docker buildx build --platform linux/amd64,linux/arm64 -t REGISTRY/mpic-fleet:TAG --push dist/image
#
# The entry point is the one the local fleet and the hosts run: `python -m service ROLE --settings FILE`.
# MPIC_* environment variables override keys of the settings file (see service/README.md).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
FROM ${PYTHON_IMAGE}
ARG TARGETARCH
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY wheelhouse /tmp/wheelhouse
# unbound: the Kubernetes target runs this image as the per-pod resolver sidecar too.
RUN set -eu; \
    case "${TARGETARCH:-amd64}" in amd64) platform=linux_x86_64 ;; arm64) platform=linux_aarch64 ;; \
      *) echo "no wheelhouse for architecture ${TARGETARCH}" >&2; exit 1 ;; esac; \
    apt-get update; \
    apt-get install -y --no-install-recommends unbound; \
    rm -rf /var/lib/apt/lists/*; \
    python -m venv /opt/mpic; \
    /opt/mpic/bin/pip install --no-index --require-hashes --find-links "/tmp/wheelhouse/$platform" \
      -r "/tmp/wheelhouse/$platform/requirements.txt"; \
    rm -rf /tmp/wheelhouse; \
    useradd --system --uid 10001 --home-dir /opt/mpic --shell /usr/sbin/nologin mpic
ENV PATH=/opt/mpic/bin:$PATH
USER 10001
# 8443: a perspective's mTLS listener, 8080: a coordinator behind a TLS-terminating load balancer;
# 9090: the coordinator's internal listener (/healthz, /metrics) for probes only, never published.
EXPOSE 8443 8080 9090
ENTRYPOINT ["python", "-m", "service"]
CMD ["coordinator", "--settings", "/etc/mpic/settings.yaml"]
