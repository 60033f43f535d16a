# DealFinder's container image: `dealfinder serve --http` on port 3000 (README "Deployment").
# Installs the package the way .ci/run does (a venv, pip upgraded, `pip install` of this
# project), without the dev extras and not editable. Build: docker build -t dealfinder .
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --system --create-home --home-dir /var/lib/dealfinder dealfinder

WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY ghl ./ghl
COPY matching ./matching
COPY services ./services
COPY sandbox ./sandbox
COPY store ./store
RUN python -m venv /opt/dealfinder/.venv \
    && /opt/dealfinder/.venv/bin/python -m pip install --quiet --upgrade pip \
    && /opt/dealfinder/.venv/bin/python -m pip install --quiet . \
    && rm -rf /src

ENV PATH=/opt/dealfinder/.venv/bin:$PATH
USER dealfinder
# The SQLite store (when DATABASE_URL is unset) and nothing else is written here.
WORKDIR /var/lib/dealfinder
VOLUME ["/var/lib/dealfinder"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4)"]
ENTRYPOINT ["dealfinder"]
CMD ["serve", "--http", "--host", "0.0.0.0", "--port", "3000"]
