# syntax=docker/dockerfile:1
# MPIC Fleet runtime: one image for both roles; the role is the first argument.
#
#   docker build -t mpic-fleet-runtime .
#   docker run -v ./state:/etc/mpic mpic-fleet-runtime perspective  --settings /etc/mpic/perspective.yaml
#   docker run -v ./state:/etc/mpic mpic-fleet-runtime coordinator --settings /etc/mpic/coordinator.yaml
#
# The default CMD runs a coordinator from /etc/mpic/settings.yaml; MPIC_* environment
# variables override keys of the file (see service/README.md). SIGTERM = graceful shutdown.
#
# AWS Lambda (container image; same code):
#   docker build --target lambda -t mpic-fleet-lambda .
#   function CMD: service.lambda_handler.coordinator_handler  (API Gateway)
#             or: service.lambda_handler.perspective_handler  (direct invoke)
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG LAMBDA_IMAGE=public.ecr.aws/lambda/python:3.11

FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /opt/mpic
COPY requirements.lock service/requirements-runtime.in /tmp/
# unbound: the Kubernetes target runs this image as the per-pod resolver sidecar too.
RUN apt-get update \
 && apt-get install -y --no-install-recommends unbound \
 && rm -rf /var/lib/apt/lists/* \
 && pip install -c /tmp/requirements.lock -r /tmp/requirements-runtime.in \
 && useradd --system --uid 10001 --home /opt/mpic mpic
COPY config/__init__.py config/catalog.py config/regions.yaml ./config/
COPY service/ ./service/
USER 10001
EXPOSE 8443 8080
ENTRYPOINT ["python", "-m", "service"]
CMD ["coordinator", "--settings", "/etc/mpic/settings.yaml"]

FROM ${LAMBDA_IMAGE} AS lambda
COPY requirements.lock service/requirements-runtime.in /tmp/
RUN pip install -c /tmp/requirements.lock -r /tmp/requirements-runtime.in boto3 \
 && rm /tmp/requirements.lock /tmp/requirements-runtime.in
COPY config/__init__.py config/catalog.py config/regions.yaml ${LAMBDA_TASK_ROOT}/config/
COPY service/ ${LAMBDA_TASK_ROOT}/service/
CMD ["service.lambda_handler.coordinator_handler"]
