# syntax=docker/dockerfile:1
# `recsys serve` in a container. The build stage makes the wheel from the source; `app` holds only the installed
# wheel, runs as a non-root user and checks /healthz; the final stage adds one run folder (verified while the image is
# built). The run is baked in read-only: a new run is a new image (or mount one and send SIGHUP), or use the `app`
# target, which serves the model registry's champion.
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

# app: the service with no run baked in; it serves a model registry version (compose.yaml's `serve`:
#   recsys serve --model models:/recsysmodel@champion, with MLFLOW_TRACKING_URI set)
FROM python:${PYTHON}-slim AS app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_USE_LEGACY_KERAS=1 RECSYS_MODEL_CACHE=/tmp/recsys-models
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /srv --shell /usr/sbin/nologin recsys
COPY --from=build /dist/ /tmp/wheels/
RUN pip install /tmp/wheels/*.whl && rm -rf /tmp/wheels
USER recsys
WORKDIR /srv
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["recsys", "serve", "--host", "0.0.0.0", "--port", "8080"]
CMD ["--model", "models:/recsysmodel@champion"]

# serve (the default target): the app with one run folder, verified while the image is built
FROM app AS serve
ARG RUN=run
ENV RECSYS_ARTIFACTS=/srv/run
COPY ${RUN} /srv/run
RUN recsys show --verify --artifacts /srv/run > /dev/null
ENTRYPOINT ["recsys", "serve", "--host", "0.0.0.0", "--port", "8080", "--artifacts", "/srv/run"]
CMD ["--workers", "1"]
