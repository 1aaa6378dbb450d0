"""The team stack's MLflow pieces for real, on loopback: `mlflow server` as a subprocess whose backend store is a fresh
database on the machine's MariaDB or PostgreSQL (created and dropped here; one parametrised fixture) and whose
artifacts go to an S3 endpoint served by moto's standalone server (a MinIO binary cannot be installed here). Training,
`recsys track --sync`, `recsys publish register` and `recsys serve --model` run as the `recsys` command a user runs.

Tracking URIs carry a user and password (the server ignores them): they must never show up in what the project
writes or prints."""
import json, os, re, shutil, signal, socket, subprocess, sys, time, uuid
from pathlib import Path
import pytest
import requests

BIN = Path(sys.executable).parent
SECRET = 'pw-that-must-never-show'
S3_ENV = {'AWS_ACCESS_KEY_ID': 'testing', 'AWS_SECRET_ACCESS_KEY': 'testing', 'AWS_DEFAULT_REGION': 'us-east-1'}

def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def wait_for(url, proc, log, timeout=120):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        assert proc.poll() is None, f"{proc.args[:3]} exited with {proc.returncode}: {Path(log).read_text()[-3000:]}"
        try:  # a new server's first answer can be slow (MLflow 3.18's first /health took 2.0 s on a busy machine): a read timeout is 'not yet'
            if requests.get(url, timeout=10).status_code == 200: return
        except (requests.ConnectionError, requests.Timeout): pass
        time.sleep(0.3)
    raise AssertionError(f"{url} not 200 after {timeout}s: {Path(log).read_text()[-3000:]}")

def stop(proc, timeout=30):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try: proc.wait(timeout)
        except subprocess.TimeoutExpired: os.killpg(proc.pid, signal.SIGKILL); proc.wait()

def recsys(*args, uri=None, timeout=600, **env) -> subprocess.CompletedProcess:
    "The `recsys` command, with the tracking URI (or none) and extra environment."
    e = {k: v for k, v in os.environ.items() if k != 'MLFLOW_TRACKING_URI'}
    if uri: e['MLFLOW_TRACKING_URI'] = uri
    return subprocess.run([str(BIN/'recsys'), *map(str, args)], capture_output=True, text=True, timeout=timeout, env={**e, **env})

# ---- the pieces: S3 (moto), a database, the MLflow server ----

@pytest.fixture(scope='module')
def s3(tmp_path_factory):
    "moto's S3 endpoint, on a free port, for the whole module."
    import boto3
    port, log = free_port(), tmp_path_factory.mktemp('moto')/'moto.log'
    proc = subprocess.Popen([str(BIN/'moto_server'), '-H', '127.0.0.1', '-p', str(port)], stdout=open(log, 'w'),
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(f"http://127.0.0.1:{port}/moto-api/", proc, log)
        yield boto3.client('s3', endpoint_url=f"http://127.0.0.1:{port}", aws_access_key_id=S3_ENV['AWS_ACCESS_KEY_ID'],
                           aws_secret_access_key=S3_ENV['AWS_SECRET_ACCESS_KEY'], region_name=S3_ENV['AWS_DEFAULT_REGION'])
    finally: stop(proc)

def create_database(backend:str):
    "A fresh database on the machine's server; returns (SQLAlchemy URI, drop function)."
    name = f"recsys_mlflow_{uuid.uuid4().hex[:10]}"
    if backend == 'mysql':
        import pymysql
        def sql(q):
            c = pymysql.connect(host='127.0.0.1', port=3306, user='root', autocommit=True)
            try: c.cursor().execute(q)
            finally: c.close()
        sql(f"CREATE DATABASE {name}")
        return f"mysql+pymysql://root@127.0.0.1:3306/{name}", lambda: sql(f"DROP DATABASE IF EXISTS {name}")
    import psycopg2
    def sql(q):
        c = psycopg2.connect(host='127.0.0.1', port=5432, user='postgres', dbname='postgres'); c.autocommit = True
        try: c.cursor().execute(q)
        finally: c.close()
    sql(f"CREATE DATABASE {name}")
    return f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}", lambda: sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

class MlflowServer:
    "`mlflow server` on a backend store and an S3 bucket; `restart` starts a new process on the same two."
    def __init__(self, backend_uri, bucket, s3_endpoint, tmp):
        self.backend_uri, self.bucket, self.s3_endpoint, self.tmp, self.proc = backend_uri, bucket, s3_endpoint, Path(tmp), None
        self.start()
    def start(self):
        self.port = free_port()
        self.log = self.tmp/f"mlflow-{self.port}.log"
        env = {**os.environ, **S3_ENV, 'MLFLOW_S3_ENDPOINT_URL': self.s3_endpoint}
        env.pop('MLFLOW_TRACKING_URI', None)
        self.proc = subprocess.Popen([str(BIN/'mlflow'), 'server', '--backend-store-uri', self.backend_uri,
                                      '--artifacts-destination', f"s3://{self.bucket}/artifacts", '--host', '127.0.0.1',
                                      '--port', str(self.port), '--workers', '1'],
                                     stdout=open(self.log, 'w'), stderr=subprocess.STDOUT, env=env, start_new_session=True)
        wait_for(f"http://127.0.0.1:{self.port}/health", self.proc, self.log)
    @property
    def uri(self) -> str: return f"http://127.0.0.1:{self.port}"
    @property
    def uri_with_credentials(self) -> str: return f"http://ci-user:{SECRET}@127.0.0.1:{self.port}"
    def client(self):
        from mlflow import MlflowClient
        return MlflowClient(tracking_uri=self.uri)
    def restart(self):
        stop(self.proc); self.start()
    def stop(self): stop(self.proc)

@pytest.fixture(scope='module', params=['mysql', 'postgresql'])
def stack(request, s3, tmp_path_factory):
    "A fresh database, a fresh bucket and an MLflow server on them (the test module runs once per backend)."
    tmp = tmp_path_factory.mktemp(f"stack-{request.param}")
    uri, drop = create_database(request.param)
    bucket = f"mlflow-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    server = None
    try:
        server = MlflowServer(uri, bucket, s3.meta.endpoint_url, tmp)
        server.s3, server.tmp_dir = s3, tmp
        yield server
    finally:
        if server: server.stop()
        drop()

def s3_keys(stack) -> list:
    keys, token = [], None
    while True:
        kw = {'Bucket': stack.bucket, **({'ContinuationToken': token} if token else {})}
        r = stack.s3.list_objects_v2(**kw)
        keys += [o['Key'] for o in r.get('Contents', [])]
        if not r.get('IsTruncated'): return keys
        token = r['NextContinuationToken']

def variant(run, dest, tag, **rows) -> Path:
    "A copy of `run` under a new run id whose manifest has other figures (rewritten with its checksums, so it verifies)."
    from recsysmodel.runs import write_manifest
    d = Path(dest)/f"{run.name}-{tag}"
    shutil.copytree(run, d)
    m = json.loads((d/'manifest.json').read_text()); m['run_id'] = d.name
    for model, figures in rows.items(): m['metrics'][model].update(figures)
    (d/'manifest.json').unlink(); write_manifest(d, m)
    return d

def no_secret_in(*texts):
    for t in texts: assert SECRET not in t, t[-2000:]

# ---- the tests (in order, per backend) ----

@pytest.fixture(scope='module')
def trained(stack):
    "A tiny synthetic run trained by `recsys train`, tracked live to the server."
    out = stack.tmp_dir/'runs'
    r = recsys('train', '--dataset', 'synthetic', '--epochs', '1', '--n-candidates', '50', '--out-dir', out, '--quiet', uri=stack.uri_with_credentials)
    assert r.returncode == 0, r.stderr[-3000:]
    no_secret_in(r.stdout, r.stderr)
    return out/(out/'latest').read_text().strip()

def test_a_training_run_is_tracked_to_the_server_and_its_artifacts_are_in_s3(stack, trained):
    from recsysmodel.runs import verify_run
    m = verify_run(trained)
    assert m['mlflow']['tracking_uri'] == stack.uri  # without its credentials
    for f in trained.rglob('*'):
        if f.is_file(): assert SECRET.encode() not in f.read_bytes(), f
    c = stack.client()
    r = c.get_run(m['mlflow']['run_id'])
    assert (r.info.status, r.data.tags['recsysmodel.run_id'], r.data.tags['recsysmodel.complete']) == ('FINISHED', m['run_id'], 'true')
    assert (r.data.params['epochs'], r.data.params['n_candidates'], r.data.params['dataset']) == ('1', '50', 'synthetic')
    assert [x.step for x in c.get_metric_history(r.info.run_id, 'retrieval.loss')] == [h['epoch'] for h in m['history']['retrieval']]
    assert r.data.metrics['served.hr_at_10'] == pytest.approx(m['metrics']['served']['hr@10'])
    assert r.data.metrics['ease.ndcg_at_10'] == pytest.approx(m['metrics']['ease']['ndcg@10'])
    arts = {a.path for a in c.list_artifacts(r.info.run_id)}
    assert {'manifest.json', 'retrieval_training.png', 'sequence_training.png', 'evaluation'} <= arts, arts
    # the artifacts are objects in the bucket (through the server's proxy: the client holds no S3 keys)
    key = next(k for k in s3_keys(stack) if k.endswith(f"{r.info.run_id}/artifacts/manifest.json"))
    assert stack.s3.get_object(Bucket=stack.bucket, Key=key)['Body'].read() == (trained/'manifest.json').read_bytes()

def test_only_a_run_that_passes_the_gate_becomes_champion_and_serve_follows_it(stack, trained):
    from recsysmodel.publish import quality_gate
    from recsysmodel.runs import verify_run
    c, uri, man = stack.client(), stack.uri_with_credentials, verify_run(trained)
    name = 'recsysmodel'
    # the trained run itself: the registry does what the gate says
    r = recsys('publish', 'register', trained, '--name', name, uri=uri)
    assert r.returncode == 0, r.stderr[-3000:]
    no_secret_in(r.stdout, r.stderr)
    passed = quality_gate(man) == []
    assert ('quality gate passed' in r.stdout) == passed and ('quality gate FAILED' in r.stdout) == (not passed), r.stdout
    v1 = c.get_model_version(name, '1')
    assert (v1.tags['recsysmodel.run_id'], v1.tags['gate.passed'], v1.run_id) == (man['run_id'], str(passed).lower(), man['mlflow']['run_id'])
    # a run that loses to the baselines: registered, no alias, and the output says why
    mets = man['metrics']
    loser = variant(trained, stack.tmp_dir/'variants', 'loser', served={'hr@10': mets['ease']['hr@10'] / 2, 'ndcg@10': mets['ease']['ndcg@10'] / 2})
    r = recsys('publish', 'register', loser, '--name', 'gate', uri=uri)
    assert r.returncode == 0 and 'quality gate FAILED' in r.stdout and '| baseline | served | hr@10 |' in r.stdout, r.stdout + r.stderr[-2000:]
    assert c.get_registered_model('gate').aliases == {}
    assert c.get_model_version('gate', '1').tags['gate.decision'] == 'not promoted'
    # a run that beats every baseline (and the rating baselines: random-80-20 gates rmse too) becomes champion
    top = lambda metric, f: f(row[metric] for row in mets.values() if metric in row)
    winner = variant(trained, stack.tmp_dir/'variants', 'winner', served={'hr@10': top('hr@10', max) + 0.05, 'ndcg@10': top('ndcg@10', max) + 0.05},
                     ranking={'rmse': top('rmse', min) - 0.05})
    r = recsys('publish', 'register', winner, '--name', 'gate', uri=uri)
    assert r.returncode == 0 and 'alias champion -> version 2' in r.stdout, r.stdout + r.stderr[-2000:]
    assert c.get_registered_model('gate').aliases == {'champion': '2'}
    v2 = c.get_model_version('gate', '2')
    assert float(v2.tags['gate.served.hr_at_10']) == pytest.approx(top('hr@10', max) + 0.05, abs=1e-6)
    assert any(k.endswith(f"artifacts/{winner.name}/manifest.json") for k in s3_keys(stack))  # the model's files are in S3
    # the service started from the alias serves the champion's run
    port, log = free_port(), stack.tmp_dir/'serve.log'
    env = {k: v for k, v in os.environ.items() if k != 'MLFLOW_TRACKING_URI'}
    proc = subprocess.Popen([str(BIN/'recsys'), 'serve', '--model', 'models:/gate@champion', '--port', str(port),
                             '--model-cache', str(stack.tmp_dir/'cache')], stdout=subprocess.DEVNULL, stderr=open(log, 'w'),
                            env={**env, 'MLFLOW_TRACKING_URI': uri}, start_new_session=True)
    try:
        wait_for(f"http://127.0.0.1:{port}/readyz", proc, log, timeout=180)
        assert requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10).json()['run_id'] == winner.name
        user = json.loads((winner/'encoding.json').read_text())['user_ids'][0]
        body = requests.get(f"http://127.0.0.1:{port}/v1/recommendations/{user}?k=3", timeout=30).json()
        assert body['run_id'] == winner.name and len(body['items']) == 3
        # a newer champion whose files were changed in the bucket after it was registered: the reload refuses it
        better = variant(trained, stack.tmp_dir/'variants', 'better', served={'hr@10': top('hr@10', max) + 0.06, 'ndcg@10': top('ndcg@10', max) + 0.06},
                         ranking={'rmse': top('rmse', min) - 0.06})
        r = recsys('publish', 'register', better, '--name', 'gate', uri=uri)
        assert 'alias champion -> version 3' in r.stdout, r.stdout + r.stderr[-2000:]
        key = next(k for k in s3_keys(stack) if k.endswith(f"artifacts/{better.name}/items.parquet"))
        body_ = stack.s3.get_object(Bucket=stack.bucket, Key=key)['Body'].read()
        stack.s3.put_object(Bucket=stack.bucket, Key=key, Body=body_[:-1] + bytes([body_[-1] ^ 1]))  # one bit
        os.killpg(proc.pid, signal.SIGHUP)
        end = time.monotonic() + 60
        while 'reload refused' not in log.read_text() and time.monotonic() < end: time.sleep(0.3)
        assert 'reload refused' in log.read_text() and 'items.parquet does not match its sha256' in log.read_text(), log.read_text()[-3000:]
        assert requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10).json()['run_id'] == winner.name  # the old champion serves on
        # a better, sound run: registered against a sound champion, it becomes champion, and the next reload follows the alias
        best = variant(trained, stack.tmp_dir/'variants', 'best', served={'hr@10': top('hr@10', max) + 0.07, 'ndcg@10': top('ndcg@10', max) + 0.07},
                       ranking={'rmse': top('rmse', min) - 0.07})
        r = recsys('publish', 'register', best, '--name', 'gate', uri=uri)  # the champion does not verify: nothing to compare with
        assert r.returncode == 1 and 'the current champion (version 3 of gate) cannot be read' in r.stderr, r.stdout + r.stderr[-2000:]
        assert max(int(v.version) for v in c.search_model_versions("name = 'gate'")) == 3 and c.get_registered_model('gate').aliases == {'champion': '3'}
        c.set_registered_model_alias('gate', 'champion', '2')  # what an operator does: point the alias back at a sound version
        r = recsys('publish', 'register', best, '--name', 'gate', uri=uri)
        assert 'alias champion -> version 4' in r.stdout, r.stdout + r.stderr[-2000:]
        os.killpg(proc.pid, signal.SIGHUP)
        end = time.monotonic() + 60
        while requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10).json()['run_id'] != best.name and time.monotonic() < end: time.sleep(0.3)
        assert requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10).json()['run_id'] == best.name, log.read_text()[-3000:]
        no_secret_in(log.read_text())
    finally: stop(proc)
    # a fresh start on a tampered champion is refused, naming the file
    r = recsys('serve', '--model', 'models:/gate/3', '--port', free_port(), '--model-cache', stack.tmp_dir/'cache2', uri=uri, timeout=120)
    assert r.returncode == 1 and 'is refused' in r.stderr and 'items.parquet' in r.stderr, r.stderr[-2000:]
    no_secret_in(r.stderr)

def test_tracking_down_loses_nothing_and_the_sync_uploads_the_run_later(stack, tmp_path):
    closed = free_port()  # nothing listens there
    out = tmp_path/'runs'
    t0 = time.monotonic()
    r = recsys('train', '--dataset', 'synthetic', '--epochs', '1', '--n-candidates', '50', '--models', 'retrieval', '--out-dir', out,
               '--quiet', uri=f"http://ci-user:{SECRET}@127.0.0.1:{closed}")
    assert r.returncode == 0, r.stderr[-3000:]
    no_secret_in(r.stdout, r.stderr)
    run = out/(out/'latest').read_text().strip()
    assert r.stderr.count('TrackingWarning') == 1 and f"recsys track --sync {run}" in r.stderr and f"127.0.0.1:{closed}" in r.stderr, r.stderr
    from recsysmodel.runs import verify_run
    m = verify_run(run)
    assert m['mlflow']['run_id'] is None and 'does not answer' in m['mlflow']['error']
    s = recsys('track', '--sync', run, uri=stack.uri_with_credentials)
    assert s.returncode == 0 and f"run {m['run_id']} uploaded to {stack.uri}" in s.stdout, s.stdout + s.stderr[-2000:]
    no_secret_in(s.stdout, s.stderr)
    c = stack.client()
    found = c.search_runs([c.get_experiment_by_name('recsysmodel').experiment_id], filter_string=f"tags.`recsysmodel.run_id` = '{m['run_id']}'")
    assert len(found) == 1 and found[0].info.status == 'FINISHED' and found[0].data.tags['recsysmodel.complete'] == 'true'
    assert found[0].data.metrics['served.hr_at_10'] == pytest.approx(m['metrics']['served']['hr@10'])
    again = recsys('track', '--sync', run, uri=stack.uri)
    assert ' already tracked at ' in again.stdout, again.stdout + again.stderr[-2000:]

def test_a_restarted_server_on_the_same_database_and_bucket_has_everything(stack):
    def state():
        c = stack.client()
        exp = c.get_experiment_by_name('recsysmodel').experiment_id
        runs = {r.info.run_id: (r.info.status, r.data.params, r.data.metrics, r.data.tags.get('recsysmodel.run_id'),
                                sorted(a.path for a in c.list_artifacts(r.info.run_id)),
                                [(x.step, x.value) for x in c.get_metric_history(r.info.run_id, 'retrieval.loss')])
                for r in c.search_runs([exp])}
        models = {m.name: (m.aliases, sorted((v.version, v.run_id, tuple(sorted(v.tags.items())))
                                             for v in c.search_model_versions(f"name = '{m.name}'")))
                  for m in c.search_registered_models()}
        manifests = {}
        for rid in runs:
            dl = stack.tmp_dir/f"dl-{stack.port}-{rid}"; dl.mkdir()
            manifests[rid] = Path(c.download_artifacts(rid, 'manifest.json', str(dl))).read_bytes()
        return runs, models, manifests
    before = state()
    assert len(before[0]) >= 4 and set(before[1]) == {'recsysmodel', 'gate'}  # training, the registered variants, a sync
    old_port = stack.port
    stack.restart()
    assert stack.port != old_port  # a new process, not the old one answering
    assert state() == before
