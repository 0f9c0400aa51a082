# syntax=docker/dockerfile:1
# ozbot's production image: the wheel and the run-time packages uv.lock pins, in a virtual
# environment, run by a user without privileges. `docker compose up` (compose.yaml) runs it with
# PostgreSQL behind a reverse proxy; the README's production section says how.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: the wheel, and the locked requirements with their hashes ---------------------------
FROM ${PYTHON_IMAGE} AS build
ARG UV_VERSION=0.13.9
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 UV_NO_CACHE=1
RUN pip install "uv==${UV_VERSION}"
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
COPY bot ./bot
COPY flows ./flows
RUN uv build --wheel --out-dir /dist \
 && uv export --locked --no-dev --no-emit-project --quiet -o /dist/requirements.txt
RUN python -m venv /opt/ozbot \
 && /opt/ozbot/bin/pip install --require-hashes -r /dist/requirements.txt \
 && /opt/ozbot/bin/pip install --no-deps /dist/ozbot-*.whl \
 && /opt/ozbot/bin/ozbot --help > /dev/null

# --- run: the virtual environment only ----------------------------------------------------------
FROM ${PYTHON_IMAGE}
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/ozbot --create-home ozbot
COPY --from=build /opt/ozbot /opt/ozbot
ENV PATH=/opt/ozbot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    OZBOT_DATA_DIR=/var/lib/ozbot \
    OZBOT_LOG_FORMAT=json
USER 10001:10001
WORKDIR /var/lib/ozbot
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["ozbot", "serve", "--host", "0.0.0.0", "--port", "8000"]
