# syntax=docker/dockerfile:1
# One image for every role: `panjereh serve` (default), `panjereh worker`, `panjereh migrate`.
#   docker build -t panjereh .
#   docker run -p 8000:8000 -e PANJEREH_SECRET_KEY=... -v panjereh-data:/app/data panjereh
# See docker-compose.yml for PostgreSQL + Redis + N servers + M workers.

# --- the agent console (skipped while frontend/ has no package.json)
FROM node:20-slim AS frontend
WORKDIR /frontend
COPY frontend/ ./
RUN if [ -f package.json ]; then npm ci && npm run build; fi && mkdir -p dist

# --- the Python application
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PANJEREH_DATA_DIR=/app/data

RUN python -m venv /opt/venv \
    && useradd --system --uid 10001 --user-group --home-dir /app --no-create-home panjereh

WORKDIR /app

# Dependencies first, pinned by requirements.lock (this layer is rebuilt only when
# pyproject.toml or requirements.lock change): install the project's runtime
# dependencies against empty package stubs, then drop the stub install.
COPY pyproject.toml requirements.lock README.md ./
RUN mkdir -p app connectors \
    && touch app/__init__.py connectors/__init__.py \
    && pip install -c requirements.lock . \
    && pip uninstall -y panjereh \
    && rm -rf app connectors build ./*.egg-info

# The application. Installed editable so that it runs from /app, where
# migrations/ (not part of the Python packages) sits beside app/.
COPY . .
COPY --from=frontend /frontend/dist/ frontend/dist/
RUN pip install --no-deps -c requirements.lock -e . \
    && python -m compileall -q app connectors migrations \
    && mkdir -p /app/data \
    && chown panjereh:panjereh /app/data

USER panjereh
VOLUME ["/app/data"]
EXPOSE 8000
CMD ["panjereh", "serve", "--host", "0.0.0.0"]
