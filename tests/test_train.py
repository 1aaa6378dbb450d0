"""Training runs end to end: papermill with a parameters file, validation before work, reproducibility, and a kill
that leaves earlier runs alone."""
import json, os, signal, subprocess, sys, time
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ENV = {**os.environ, 'TF_USE_LEGACY_KERAS': '1', 'MPLBACKEND': 'Agg'}
for k in ('IN_TEST', 'MLFLOW_TRACKING_URI', 'TF_CPP_MIN_LOG_LEVEL', 'RECSYS_LOG_LEVEL'): ENV.pop(k, None)

def papermill(*args, env=None, cwd=None):
    return subprocess.run([str(BIN/'papermill'), str(ROOT/'nbs'/'03_train.ipynb'), *map(str, args)], capture_output=True,
                          text=True, env={**ENV, **(env or {})}, cwd=cwd, timeout=600)

def test_papermill_run_with_params_file_writes_one_complete_tracked_run(tmp_path):
    (tmp_path/'params.yaml').write_text("dataset: synthetic\nepochs: 3\nn_candidates: 40\nprogress: false\n")
    store = f"sqlite:///{tmp_path/'tracking.db'}"
    r = papermill('out.ipynb', '--inject-output-path', '-f', 'params.yaml', '-p', 'epochs', 1, '-p', 'out_dir', tmp_path/'runs',
                  env={'MLFLOW_TRACKING_URI': store}, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    runs = tmp_path/'runs'
    run = runs/(runs/'latest').read_text().strip()
    m = json.loads((run/'manifest.json').read_text())
    # the command line wins over the file, the file over the notebook's defaults
    assert (m['params']['epochs'], m['params']['n_candidates'], m['params']['dataset']) == (1, 40, 'synthetic')
    assert [p.name for p in runs.iterdir() if p.name.startswith('.tmp-')] == []
    # the executed notebook is in the run (papermill --inject-output-path told it where) and shows the injected parameters
    nb = json.loads((run/'notebook.ipynb').read_text())
    injected = [c for c in nb['cells'] if 'injected-parameters' in c['metadata'].get('tags', [])]
    assert len(injected) == 1 and 'epochs = 1' in ''.join(injected[0]['source'])
    assert m['notebook'] == 'notebook.ipynb' and 'notebook.ipynb' in m['files']
    # metrics: every model, the served one included, beside every baseline of the random-80-20 protocol
    assert {'retrieval', 'two_stage', 'sequence', 'served', 'ranking', 'most_popular', 'item_cooccurrence', 'ease', 'markov', 'global_mean',
            'bias'} == set(m['metrics'])
    # the served model is the one with the best validation NDCG@10, and the manifest says so
    v = m['served']['validation']
    assert set(v) == {'retrieval', 'two_stage', 'sequence'} and m['served']['chosen_on'] == 'validation'
    assert v[m['served']['model']]['ndcg@10'] == max(x['ndcg@10'] for x in v.values())
    assert m['protocol'] == 'random-80-20' and m['schema_version'] == 2
    assert list(m['dataset']['fingerprint']) == ['synthetic_movielens(n_users=300, n_items=400, n_ratings=15000, seed=42)']
    # MLflow: the tracking URI from the environment received the run, nothing went to a local store; the manifest
    # names the store without its local path
    assert m['mlflow']['tracking_uri'] == 'sqlite:<local path omitted>' and not (runs/'mlflow.db').exists()
    assert str(tmp_path) not in (run/'manifest.json').read_text()
    from mlflow import MlflowClient
    c = MlflowClient(tracking_uri=store)
    got = c.get_run(m['mlflow']['run_id'])
    assert got.info.status == 'FINISHED' and got.data.tags['recsysmodel.run_id'] == m['run_id']
    assert got.data.metrics['ranking.rmse'] == pytest.approx(m['metrics']['ranking']['rmse'])
    # quiet: no TensorFlow C++ log lines (CUDA probing, NodeDef notices) in what papermill printed
    assert not any(s in r.stderr for s in ('cuInit', 'NodeDef', 'oneDNN', 'cuda_')), r.stderr[-3000:]

def test_papermill_without_inject_output_path_keeps_no_notebook(tmp_path):
    r = papermill('out.ipynb', '-p', 'dataset', 'synthetic', '-p', 'epochs', 1, '-p', 'out_dir', tmp_path/'runs', '-p', 'track', False,
                  '-p', 'baselines', False, '-p', 'models', 'retrieval', '-p', 'progress', False, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    run = tmp_path/'runs'/(tmp_path/'runs'/'latest').read_text().strip()
    m = json.loads((run/'manifest.json').read_text())
    assert m['notebook'] is None and 'notebook.ipynb' not in m['files'] and not (run/'notebook.ipynb').exists()

def test_bad_parameter_stops_before_any_work(tmp_path):
    r = papermill('out.ipynb', '-p', 'epochs', 'ten', '-p', 'out_dir', tmp_path/'runs', cwd=tmp_path)
    assert r.returncode != 0
    assert 'parameter epochs must be int, got str' in r.stderr + r.stdout
    assert not (tmp_path/'runs').exists()

def _run(out, **kw):
    from recsysmodel.train import run_training
    return json.loads((run_training(**{'dataset': 'synthetic', 'epochs': 2, 'out_dir': str(out), 'track': False, 'progress': False,
                                       'baselines': False, **kw})/'manifest.json').read_text())

def test_same_parameters_and_seed_give_the_same_metrics(tmp_path):
    # run a in a process of its own (`recsys train`) while this process trains c (another seed), then b: b is trained
    # where another run trained before it, a from nothing, and both must agree (two cores train them side by side)
    a_out = tmp_path/'a'
    proc = subprocess.Popen([str(BIN/'recsys'), 'train', '--dataset', 'synthetic', '--epochs', '2', '--no-baselines', '--out-dir', str(a_out),
                             '--no-track', '--quiet'], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try: c, b = _run(tmp_path/'c', seed=7, models='retrieval'), _run(tmp_path/'b')
    finally: log = proc.communicate(timeout=900)[0]
    assert proc.returncode == 0, log[-3000:]
    a = json.loads((a_out/(a_out/'latest').read_text().strip()/'manifest.json').read_text())
    curves = lambda m: {k: [{c: v for c, v in row.items() if c != 'seconds'} for row in rows] for k, rows in m['history'].items()}
    assert set(a['metrics']) == {'retrieval', 'two_stage', 'sequence', 'ranking', 'served'}, a['metrics']
    assert a['metrics'] == b['metrics'] and curves(a) == curves(b)
    assert a['files']['items.parquet'] == b['files']['items.parquet']
    # the comparison can fail: another seed gives other numbers (retrieval alone is enough to show it)
    assert c['metrics']['retrieval'] != a['metrics']['retrieval'] and curves(c)['retrieval'] != curves(a)['retrieval']

def test_killed_run_leaves_previous_runs_and_latest_untouched(tmp_path):
    out = tmp_path/'runs'
    first = _run(out, models='retrieval', epochs=1)  # any complete earlier run
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    p = subprocess.Popen([str(BIN/'recsys'), 'train', '--dataset', 'synthetic', '--epochs', '5', '--out-dir', str(out),
                          '--no-track', '--quiet'], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not any((d/'items.parquet').exists() for d in out.glob('.tmp-*')): time.sleep(0.2)
    time.sleep(2)  # training under way
    p.send_signal(signal.SIGKILL); p.wait()
    assert p.returncode == -signal.SIGKILL
    assert (out/'latest').read_text().strip() == first['run_id']
    assert {q.name: q.stat().st_mtime_ns for q in out.iterdir() if not q.name.startswith('.tmp-')} == before
    assert len(list(out.glob('.tmp-*'))) == 1  # the killed run's temporary folder: never a run, never `latest`
    from recsysmodel.runs import find_run
    assert find_run(out).name == first['run_id']

TRACKING = """
import sys, time
from recsysmodel.train import tracking_store
t0 = float(sys.argv[2])
while time.time() < t0: time.sleep(0.001)  # start together
client, uri, exp_id = tracking_store(sys.argv[1])
print('experiment', exp_id)
"""

def test_concurrent_first_runs_share_one_local_tracking_store(tmp_path):
    "Two runs starting at once in a new out_dir: both open the local MLflow store, one experiment, no 'table exists' error."
    out = tmp_path/'runs'
    start = time.time() + 4
    ps = [subprocess.Popen([sys.executable, '-c', TRACKING, str(out), str(start)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, env=ENV) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in ps]
    assert [p.returncode for p in ps] == [0, 0], [o[1][-3000:] for o in outs]
    ids = {o[0].split('experiment')[-1].strip() for o in outs}
    assert len(ids) == 1, ids
    from mlflow import MlflowClient
    assert len(MlflowClient(tracking_uri=f"sqlite:///{out/'mlflow.db'}").search_experiments()) == 2  # Default and recsysmodel

OWN_LOG = """
import sys
import numpy as np, pandas as pd
from recsysmodel.train import run_training
rng, tmp = np.random.default_rng(1), sys.argv[1]
log = pd.DataFrame({'visitor': [f"v{u}" for u in rng.integers(0, 60, 1500)], 'sku': [f"sku-{i}" for i in rng.zipf(1.4, 1500) % 120],
                    'at': pd.Timestamp('2026-11-01', tz='UTC') + pd.to_timedelta(np.sort(rng.integers(0, 20 * 86400, 1500)), unit='s')})
log.to_parquet(tmp + '/clicks.parquet', index=False)
run_training(interactions=tmp + '/clicks.parquet', user_col='visitor', item_col='sku', time_col='at', protocol='leave-last-out',
             query='latest', index='brute_force', retrieval_history_length=8, epochs=1, n_candidates=20, out_dir=tmp + '/runs',
             track=False, progress=False, baselines=False)
"""

def test_training_on_a_click_log_prints_no_graph_optimizer_warnings(tmp_path):
    "The sequence model's served functions (scored while choosing and evaluating the served model) leave TensorFlow's graph optimizer nothing to warn about."
    # the histories are gathered from a variable: without their shape declared, the optimizer could not infer the rank
    # of what the attention's softmax gets and wrote 'Error in PredictCost()' twice to stderr, past TF_CPP_MIN_LOG_LEVEL
    r = subprocess.run([sys.executable, '-c', OWN_LOG, str(tmp_path)], capture_output=True, text=True, env=ENV, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    runs = tmp_path/'runs'
    chosen = json.loads((runs/(runs/'latest').read_text().strip()/'manifest.json').read_text())['chosen']['retrieval']
    assert (chosen['query'], chosen['history_length']) == ('latest', 8)  # the run's parameter, kept for serving
    assert 'PredictCost' not in r.stderr, r.stderr[-3000:]
    assert r.stderr == '', r.stderr[-3000:]  # nothing else either: a run without progress bars prints nothing
