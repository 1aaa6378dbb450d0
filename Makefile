# The few verbs a newcomer needs. Everything runs inside .venv, which `make install` creates.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# TFRS needs Keras 2: set before TensorFlow is first imported, in every process (papermill kernels too).
# (recsysmodel.core sets it too, and keeps TensorFlow's C++ logs quiet unless RECSYS_LOG_LEVEL=debug.)
export TF_USE_LEGACY_KERAS := 1
export MPLBACKEND := Agg

.PHONY: install test demo bench readme docs wheel image up down train archive build clean help
help:
	@echo "make install  create .venv and install recsysmodel (editable) with its dev tools"
	@echo "make test     run every notebook (nbdev_test) and the pytest suite"
	@echo "make demo     train on ml-latest-small with papermill (EPOCHS=3), print predict for user 20 and the metrics"
	@echo "              table beside the baselines (RECSYS_DATA_DIR=DIR to use local MovieLens files)"
	@echo "make bench    run the benchmarks in bench/ (writes bench/results/*.json)"
	@echo "make readme   regenerate README.md from nbs/index.ipynb"
	@echo "make docs     process every notebook into a docs page (_proc/); renders the site where Quarto is installed"
	@echo "make wheel    build dist/recsysmodel-<version>-py3-none-any.whl (MODEL=runs/<id> bundles that run)"
	@echo "make image    build the serving container (RUN=runs/<id>; default: the latest run in runs/), tagged recsysmodel-serve"
	@echo "make up       start the team stack of compose.yaml (MySQL, MinIO, MLflow, Adminer, the service); needs .env and Docker"
	@echo "make down     stop the stack (its volumes stay: docker compose down -v removes them)"
	@echo "make train    papermill nbs/03_train.ipynb tracked to MLFLOW_TRACKING_URI (default http://127.0.0.1:5000, the stack's);"
	@echo "              DATASET=ml-latest-small EPOCHS=3 PARAMS='-p protocol leave-last-out' as for papermill"
	@echo "make archive  register RUN (default: the latest run in runs/) in the model registry as MODEL_NAME (recsysmodel);"
	@echo "              the quality gate decides whether it becomes the champion the stack's service serves"
	@echo "make build    make wheel, then make image"
	@echo "make clean    remove build outputs and caches (keeps .venv)"

install: $(VENV)/.installed
$(VENV)/.installed: settings.ini setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --quiet -e ".[dev]"  # -qq: errors only (no backend or index-config warnings)
	@# papermill's kernels: no "running over TCP without encryption" warning (a local kernel; nothing to act on)
	@mkdir -p $(VENV)/etc/ipython && echo "c.IPKernelApp.log_level = 'ERROR'" > $(VENV)/etc/ipython/ipython_kernel_config.py
	touch $@

test: install
	@rm -rf .export-check && cp -r recsysmodel .export-check && $(BIN)/nbdev_export; \
	 diff -rq -x __pycache__ .export-check recsysmodel; same=$$?; rm -rf .export-check; \
	 [ $$same -eq 0 ] || { echo "recsysmodel/ was out of step with nbs/; nbdev_export has regenerated it: commit the result"; exit 1; }
	$(BIN)/nbdev_test --n_workers 2
	$(BIN)/python -m pytest -q

EPOCHS ?= 3
DEMO_OUT ?= runs
demo: install
	@mkdir -p $(DEMO_OUT)
	$(BIN)/papermill --inject-output-path nbs/03_train.ipynb $(DEMO_OUT)/03_train.executed.ipynb -p dataset ml-latest-small -p epochs $(EPOCHS) -p out_dir $(DEMO_OUT)
	$(BIN)/recsys predict --user 20 -k 5 --artifacts $(DEMO_OUT)
	$(BIN)/recsys show --artifacts $(DEMO_OUT)

bench: install
	$(BIN)/python bench/data.py
	$(BIN)/python bench/retrieval.py
	$(BIN)/python bench/ranking.py
	$(BIN)/python bench/predict.py
	$(BIN)/python bench/sequence.py

readme: install
	$(BIN)/python tools/readme.py

docs: install
	$(BIN)/python tools/docs.py

wheel: install
	$(BIN)/python tools/build_wheel.py $(if $(MODEL),--model $(MODEL))

IMAGE ?= recsysmodel-serve
RUN ?= $(if $(wildcard runs/latest),runs/$(shell cat runs/latest))
image:
	@command -v docker >/dev/null || { echo "make image needs Docker (the GitHub workflow's image job builds and smoke-tests it)"; exit 1; }
	@[ -n "$(RUN)" ] || { echo "make image: no run: train one (make demo) or pass RUN=runs/<run_id>"; exit 1; }
	docker build --build-arg RUN=$(RUN) -t $(IMAGE) .

up:
	@command -v docker >/dev/null || { echo "make up needs Docker with compose"; exit 1; }
	@[ -f .env ] || { echo "make up: no .env: cp .env.example .env and change its secrets"; exit 1; }
	docker compose up -d --build --wait
	@echo "MLflow http://127.0.0.1:$${MLFLOW_PORT:-5000}  Adminer http://127.0.0.1:$${ADMINER_PORT:-8081}  service http://127.0.0.1:$${SERVE_PORT:-8080}/docs (ready once a run is archived)"

down:
	@command -v docker >/dev/null || { echo "make down needs Docker with compose"; exit 1; }
	docker compose down

# The stack's verbs: train tracked to its MLflow server, then register the run through the quality gate.
MLFLOW_TRACKING_URI ?= http://127.0.0.1:5000
MODEL_NAME ?= recsysmodel
DATASET ?= ml-latest-small
train: install
	@mkdir -p $(DEMO_OUT)
	MLFLOW_TRACKING_URI=$(MLFLOW_TRACKING_URI) $(BIN)/papermill --inject-output-path nbs/03_train.ipynb $(DEMO_OUT)/03_train.executed.ipynb \
	  -p dataset $(DATASET) -p epochs $(EPOCHS) -p out_dir $(DEMO_OUT) $(PARAMS)
	@echo "tracked to $(MLFLOW_TRACKING_URI); register it with: make archive RUN=$(DEMO_OUT)/$$(cat $(DEMO_OUT)/latest)"

archive: install
	@[ -n "$(RUN)" ] || { echo "make archive: no run: train one (make train) or pass RUN=runs/<run_id>"; exit 1; }
	MLFLOW_TRACKING_URI=$(MLFLOW_TRACKING_URI) $(BIN)/recsys publish register $(RUN) --name $(MODEL_NAME)
	@if command -v docker >/dev/null && [ -n "$$(docker compose ps -q serve 2>/dev/null)" ]; then \
	  docker compose kill -s HUP serve >/dev/null && echo "sent SIGHUP to the stack's service: it serves whatever $(MODEL_NAME)@champion now names"; fi

build: wheel image

clean:
	rm -rf build dist *.egg-info _docs _proc .pytest_cache bench/.cache
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
