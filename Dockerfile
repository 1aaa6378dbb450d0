# syntax=docker/dockerfile:1
# `recsys serve` in a container. The build stage makes the wheel from the source; the final stage holds only the
# installed wheel and one run folder (verified while the image is built), runs as a non-root user, and checks
# /healthz. The run is baked in read-only: a new run is a new image (or mount one and send SIGHUP).
#
#   make image RUN=runs/<run_id>     # docker build --build-arg RUN=runs/<run_id> -t recsysmodel-serve .
#   docker run --rm -p 127.0.0.1:8080:8080 recsysmodel-serve
ARG PYTHON=3.11

FROM python:${PYTHON}-slim AS build
WORKDIR /src
RUN pip install --no-cache-dir "build>=1.2"
COPY settings.ini setup.py pyproject.toml MANIFEST.in README.md LICENSE ./
COPY recsysmodel/ recsysmodel/
RUN python -m build --wheel --outdir /dist .

FROM python:${PYTHON}-slim AS serve
ARG RUN=run
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_USE_LEGACY_KERAS=1 RECSYS_ARTIFACTS=/srv/run
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /srv --shell /usr/sbin/nologin recsys
COPY --from=build /dist/ /tmp/wheels/
RUN pip install /tmp/wheels/*.whl && rm -rf /tmp/wheels
COPY ${RUN} /srv/run
RUN recsys show --verify --artifacts /srv/run > /dev/null
USER recsys
WORKDIR /srv
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["recsys", "serve", "--host", "0.0.0.0", "--port", "8080", "--artifacts", "/srv/run"]
CMD ["--workers", "1"]
