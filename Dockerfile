# syntax=docker/dockerfile:1
# chatops: slim, non-root, multi-stage. Build: docker build -t chatops .
# Run with Redis: see README ("Running in Docker").

FROM python:3.11.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY chatops ./chatops
COPY commands ./commands
COPY approvals ./approvals
RUN python -m venv /opt/chatops \
 && /opt/chatops/bin/pip install --upgrade pip \
 && /opt/chatops/bin/pip install .

FROM python:3.11.11-slim-bookworm
ENV PATH=/opt/chatops/bin:$PATH PYTHONUNBUFFERED=1 CHATOPS_HTTP_PORT=3000
RUN groupadd --system chatops && useradd --system --gid chatops --home /home/chatops --create-home chatops
COPY --from=build /opt/chatops /opt/chatops
USER chatops
WORKDIR /home/chatops
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=2).status == 200 else 1)"
ENTRYPOINT ["chatops"]
CMD ["serve"]
