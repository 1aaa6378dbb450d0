"""`recsys serve` as a real process on 127.0.0.1: every endpoint over HTTP, fuzzing, reload under traffic, workers."""
import json, os, shutil, signal, socket, subprocess, sys, threading, time
from pathlib import Path
import pytest
import requests

RECSYS = Path(sys.executable).parent/'recsys'
TOKEN = 'a-reload-token-for-the-tests'

def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

class Server:
    "`recsys serve` in a subprocess; stderr goes to a file the test can read."
    def __init__(self, artifacts, tmp, *args, workers=1, ready=True):
        self.port, self.url = free_port(), None
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(tmp)/f'serve-{self.port}.log'
        env = {**os.environ, 'RECSYS_RELOAD_TOKEN': TOKEN}
        self.proc = subprocess.Popen([str(RECSYS), 'serve', '--artifacts', str(artifacts), '--port', str(self.port),
                                      '--workers', str(workers), *args], stdout=subprocess.DEVNULL,
                                     stderr=open(self.log, 'w'), env=env, start_new_session=True)
        self.wait('/readyz' if ready else '/healthz')

    def wait(self, path, timeout=180):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            assert self.proc.poll() is None, f"recsys serve exited with {self.proc.returncode}: {self.stderr()[-3000:]}"
            try:  # a read timeout (a busy machine, a first request) is 'not yet', as a refused connection is
                if requests.get(self.url + path, timeout=10).status_code == 200: return
            except (requests.ConnectionError, requests.Timeout): pass
            time.sleep(0.2)
        raise AssertionError(f"{path} not 200 after {timeout}s: {self.stderr()[-3000:]}")

    def get(self, path, **kw): return requests.get(self.url + path, timeout=60, **kw)
    def post(self, path, **kw): return requests.post(self.url + path, timeout=60, **kw)
    def stderr(self) -> str: return self.log.read_text()

    def stop(self, timeout=60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try: self.proc.wait(timeout)
            except subprocess.TimeoutExpired: os.killpg(self.proc.pid, signal.SIGKILL); self.proc.wait()
        return self.proc.returncode

    def __enter__(self): return self
    def __exit__(self, *exc):
        self.stop()
        if self.proc.poll() is None: os.killpg(self.proc.pid, signal.SIGKILL)

def children(pid) -> list:
    "The worker processes of `recsys serve` (multiprocessing's spawned children; not its resource tracker)."
    out = []
    for c in Path(f'/proc/{pid}/task/{pid}/children').read_text().split():
        try: cmd = Path(f'/proc/{c}/cmdline').read_bytes()
        except OSError: continue
        if b'spawn_main' in cmd: out.append(int(c))
    return out

def as_new_run(src, dest, run_id):
    "A copy of a run under another run id (the manifest's checksums cover every file but itself)."
    shutil.copytree(src, dest)
    m = json.loads((dest/'manifest.json').read_text()); m['run_id'] = run_id
    (dest/'manifest.json').write_text(json.dumps(m))
    return dest

@pytest.fixture(scope='module')
def run(synthetic_run):
    "A run of all three models (so the service has a sequence model): conftest's, shared with other modules (copied before any change)."
    return synthetic_run

@pytest.fixture(scope='module')
def rec(run):
    from recsysmodel.predict import Recommender
    return Recommender.load(run)

@pytest.fixture(scope='module')
def server(run, tmp_path_factory):
    with Server(run, tmp_path_factory.mktemp('serve')) as s: yield s

def test_every_endpoint_over_http_answers_as_the_recommender_in_process(server, rec, run):
    import tensorflow as tf
    user = int(rec.user_ids[3])
    r = server.get(f'/v1/recommendations/{user}?k=7', headers={'X-Request-ID': 'req-42'})
    assert r.status_code == 200 and r.headers['x-request-id'] == 'req-42'
    body, ref = r.json(), rec.recommend(user, 7)
    assert body['run_id'] == rec.manifest['run_id'] and body['model'] == rec.manifest['served']['model']
    assert [i['item_id'] for i in body['items']] == ref.item_id.tolist()
    assert [i['title'] for i in body['items']] == ref.title.tolist()
    assert [i['score'] for i in body['items']] == pytest.approx(ref.score.tolist(), abs=1e-5)
    ex = server.get(f'/v1/recommendations/{user}?k=3&explain=true').json()
    assert [i['because'] for i in ex['items']] == rec.recommend(user, 3, explain=True).because.tolist()
    cold = server.get('/v1/recommendations/999999?k=4&cold_start=popular').json()
    assert cold['fallback'] == 'popular' and [i['item_id'] for i in cold['items']] == rec.popular['item_id'][:4]
    hist = rec._history(user)[-6:].tolist()
    s = server.post('/v1/recommendations', json={'history': [*hist, 10**9], 'k': 5}).json()
    ref = rec.recommend_history([*hist, 10**9], 5)
    assert [i['item_id'] for i in s['items']] == ref.item_id.tolist() and s['model'] == 'sequence'
    assert s['warnings'] == ['unknown item id 1000000000 skipped']
    empty = server.post('/v1/recommendations', json={'history': [], 'k': 2}).json()
    assert empty['fallback'] == 'popular' and [i['item_id'] for i in empty['items']] == rec.popular['item_id'][:2]
    users = [int(u) for u in rec.user_ids[:5]]
    b = server.post('/v1/recommendations', json={'user_ids': users, 'k': 3}).json()
    ref = rec.recommend_batch(users, 3)
    assert [x['user_id'] for x in b['results']] == users
    for x in b['results']: assert [i['item_id'] for i in x['items']] == ref[ref.user_id == x['user_id']].item_id.tolist()
    # TF Serving's paths, against the run's SavedModels called directly
    assert server.get('/v1/models/sequence').json()['model_version_status'][0]['state'] == 'AVAILABLE'
    p = server.post('/v1/models/retrieval:predict', json={'instances': users[:2]}).json()['predictions']
    direct = rec.run.saved_model('retrieval').signatures['serving_default'](user_id=tf.constant(users[:2], tf.int64))
    assert [x['item_id'] for x in p] == direct['item_id'].numpy().tolist()
    q = server.post('/v1/models/ranking:predict', json={'instances': [{'user_id': user, 'item_id': hist[:2]}]}).json()['predictions']
    direct = rec.run.saved_model('ranking').signatures['serving_default'](user_id=tf.constant([user], tf.int64), item_id=tf.constant([hist[:2]], tf.int64))
    assert q[0]['rating'] == pytest.approx(direct['rating'].numpy()[0].tolist(), abs=1e-5) and q[0]['known'] == [True, True]
    # health, readiness, metrics
    assert server.get('/healthz').json() == {'status': 'ok'}
    assert server.get('/readyz').json()['run_id'] == rec.manifest['run_id']
    m = server.get('/metrics').text
    assert 'recsys_requests_total{method="POST",route="/v1/recommendations",status="200"} 3.0' in m
    assert 'recsys_request_duration_seconds_bucket{le="10.0",route="/v1/recommendations/{user_id}",status="200"} 3.0' in m
    assert 'recsys_model_load_seconds ' in m and f'run_id="{rec.manifest["run_id"]}"' in m
    # every access was logged as one JSON line with its request id
    lines = [json.loads(l) for l in server.stderr().splitlines() if l.startswith('{')]
    mine = [l for l in lines if l['request_id'] == 'req-42']
    assert len(mine) == 1 and mine[0]['status'] == 200 and mine[0]['route'] == '/v1/recommendations/{user_id}'

@pytest.mark.parametrize('method,path,body,status,text', [
    ('get', '/v1/recommendations/999999', None, 404, 'unknown user 999999'),
    ('get', '/v1/recommendations/abc', None, 422, 'user_id'),
    ('get', '/v1/recommendations/1?k=100000', None, 422, 'k: Input should be less than or equal to 1000'),
    ('get', f'/v1/recommendations/{10**25}', None, 422, '64-bit range'),
    ('post', '/v1/recommendations', {'history': ['x7']}, 422, "item_id: this run's item ids are integers, got 'x7'"),
    ('post', '/v1/recommendations', {'history': list(range(600))}, 422, 'at most 500'),
    ('post', '/v1/recommendations', {'user_ids': [1], 'explain': True}, 422, 'one user at a time'),
    ('post', '/v1/recommendations', b'x' * 300_000, 413, 'over the limit'),
    ('post', '/v1/models/retrieval:predict', {'instances': [[1, 2]]}, 400, 'has shape [1, 2]'),
    ('post', '/v1/models/nope:predict', {'instances': [1]}, 404, 'Servable not found'),
    ('post', '/admin/reload', None, 403, 'reload token'),
    ('get', '/nowhere', None, 404, 'Not Found'),
])
def test_client_errors_are_4xx_json_that_say_what_was_wrong(server, method, path, body, status, text):
    kw = {'data': body} if isinstance(body, bytes) else {'json': body}
    r = getattr(server, method)(path, **kw)
    assert r.status_code == status and r.headers['content-type'] == 'application/json', r.text[:500]
    assert text in r.json()['error'] and 'Traceback' not in r.text

def test_fuzzing_the_live_openapi_schema_finds_no_server_error(server):
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance, content_type_conformance
    schema = schemathesis.openapi.from_url(server.url + '/openapi.json')
    checks = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
    failures, calls = [], 0
    for result in schema.get_all_operations():
        op = result.ok()
        @settings(max_examples=25, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy())
        def check(case):
            nonlocal calls
            calls += 1
            case.call_and_validate(base_url=server.url, checks=checks, timeout=60)  # raises with a curl line to reproduce
        check()
    assert calls >= 100
    assert server.proc.poll() is None

def test_reload_under_traffic_swaps_runs_with_no_failed_request_and_refuses_a_broken_run(run, rec, tmp_path):
    out = tmp_path/'runs'; out.mkdir()
    shutil.copytree(run, out/run.name); (out/'latest').write_text(run.name)
    old = rec.manifest['run_id']
    with Server(out, tmp_path) as s:
        users = [int(u) for u in rec.user_ids[:8]]
        seen, stop = [], threading.Event()
        def client(i):
            with requests.Session() as c:
                n = 0
                while not stop.is_set() or n < 5:
                    r = c.get(f"{s.url}/v1/recommendations/{users[n % 8]}?k=5", timeout=60)
                    seen.append((r.status_code, r.json().get('run_id') if r.status_code == 200 else r.text))
                    n += 1
        threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
        for t in threads: t.start()
        time.sleep(1.0)
        as_new_run(run, out/'second', 'second'); (out/'latest').write_text('second')
        os.kill(s.proc.pid, signal.SIGHUP)
        end = time.monotonic() + 120
        while s.get('/readyz').json()['run_id'] != 'second' and time.monotonic() < end: time.sleep(0.2)
        time.sleep(1.0); stop.set()
        for t in threads: t.join(120)
        assert {st for st, _ in seen} == {200}, [x for x in seen if x[0] != 200][:5]
        ids = [rid for _, rid in seen]
        assert set(ids) == {old, 'second'} and ids.count(old) > 0 and ids.count('second') > 0
        # a tampered run is refused, by signal and by the admin endpoint; the old one keeps serving
        bad = as_new_run(run, out/'third', 'third')
        f = bad/'encoding.json'; f.write_bytes(f.read_bytes().replace(b',', b' ,', 1))
        (out/'latest').write_text('third')
        os.kill(s.proc.pid, signal.SIGHUP)
        r = s.post('/admin/reload', headers={'Authorization': f'Bearer {TOKEN}'})
        assert r.status_code == 409 and 'encoding.json' in r.json()['error'] and 'still serving second' in r.json()['error']
        assert s.get('/readyz').json()['run_id'] == 'second'
        assert s.get(f'/v1/recommendations/{users[0]}').json()['run_id'] == 'second'
        assert 'recsys_reloads_total{outcome="refused"} 2.0' in s.get('/metrics').text
        assert s.stop() == 0
    assert TOKEN not in s.stderr()

def test_workers_survive_a_killed_sibling_and_reload_together(run, rec, tmp_path):
    out = tmp_path/'runs'; out.mkdir()
    shutil.copytree(run, out/run.name); (out/'latest').write_text(run.name)
    user = int(rec.user_ids[0])
    with Server(out, tmp_path, workers=2) as s:
        workers = children(s.proc.pid)
        assert len(workers) >= 2
        os.kill(workers[0], signal.SIGKILL)
        with requests.Session() as c:
            codes = [c.get(f"{s.url}/v1/recommendations/{user}?k=3", timeout=60).status_code for _ in range(40)]
        assert codes == [200] * 40
        end = time.monotonic() + 120  # the supervisor replaces the dead worker
        while (len(set(children(s.proc.pid)) - set(workers)) < 1 or len(children(s.proc.pid)) < 2) and time.monotonic() < end: time.sleep(0.5)
        assert len(children(s.proc.pid)) == 2 and workers[0] not in children(s.proc.pid)
        # an admin reload in one worker reaches both: afterwards every answer comes from the new run
        as_new_run(run, out/'second', 'second'); (out/'latest').write_text('second')
        time.sleep(15)  # the replacement worker has loaded TensorFlow and the run
        r = s.post('/admin/reload', headers={'Authorization': f'Bearer {TOKEN}'})
        assert r.status_code == 200 and r.json()['run_id'] == 'second'
        end = time.monotonic() + 120
        while time.monotonic() < end:
            with requests.Session() as c:
                ids = {c.get(f"{s.url}/v1/recommendations/{user}?k=3", timeout=60, headers={'Connection': 'close'}).json()['run_id'] for _ in range(20)}
            if ids == {'second'}: break
            time.sleep(1)
        assert ids == {'second'}
        m = s.get('/metrics').text  # added up over both workers
        assert 'recsys_requests_total{method="GET",route="/v1/recommendations/{user_id}",status="200"}' in m, s.stderr()[-3000:]
        assert s.stop() == 0

def test_sigterm_drains_requests_in_flight_then_exits_0(run, rec, tmp_path):
    user = int(rec.user_ids[0])
    with Server(run, tmp_path) as s:
        results = []
        def call():
            try: results.append(requests.get(f"{s.url}/v1/recommendations/{user}?k=5&explain=true", timeout=60).status_code)
            except requests.ConnectionError: results.append('refused')
        threads = [threading.Thread(target=call) for _ in range(6)]
        for t in threads: t.start()
        time.sleep(0.05)
        s.proc.send_signal(signal.SIGTERM)
        for t in threads: t.join(60)
        assert s.proc.wait(60) == 0
        assert 200 in results and set(results) <= {200, 'refused'}, results

def test_start_refuses_a_broken_run_and_waits_for_a_first_one(run, tmp_path):
    bad = shutil.copytree(run, tmp_path/'bad')
    (bad/'items.parquet').write_bytes(b'not parquet')
    r = subprocess.run([str(RECSYS), 'serve', '--artifacts', str(bad), '--port', str(free_port())], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and 'items.parquet' in r.stderr and 'Traceback' not in r.stderr
    r = subprocess.run([str(RECSYS), 'serve', '--artifacts', str(tmp_path/'nowhere'), '--port', str(free_port())], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and 'nowhere' in r.stderr
    empty = tmp_path/'empty'; empty.mkdir()
    with Server(empty, tmp_path, ready=False) as s:
        r = s.get('/readyz')
        assert r.status_code == 503 and 'no run loaded yet' in r.json()['error']
        assert s.get('/v1/recommendations/1').status_code == 503
        shutil.copytree(run, empty/run.name); (empty/'latest').write_text(run.name)
        os.kill(s.proc.pid, signal.SIGHUP)
        s.wait('/readyz', timeout=120)
        assert 'recsys serve: no run in' in s.stderr()
