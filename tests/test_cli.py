"""The installed `recsys` console script, end to end, in a subprocess."""
import json, os, subprocess, sys
from pathlib import Path
import pytest
from recsysmodel.data import write_movielens

RECSYS = Path(sys.executable).parent/'recsys'

def recsys(*args, env=None):
    e = {**os.environ, **(env or {})}
    return subprocess.run([str(RECSYS), *map(str, args)], capture_output=True, text=True, env=e, timeout=120)

def test_help_lists_commands_and_environment():
    r = recsys('--help')
    assert r.returncode == 0
    assert 'data' in r.stdout and 'RECSYS_DATA_DIR' in r.stdout and 'RECSYS_CACHE_DIR' in r.stdout
    d = recsys('data', '--help')
    assert d.returncode == 0
    for word in ('--dataset', '--data-dir', '--no-download', '--json', 'ml-latest-small, ml-100k, ml-1m, ml-20m, ml-25m, ml-32m'):
        assert word in ' '.join(d.stdout.split()), word  # argparse wraps long help lines

def test_every_subcommand_has_help():
    top = recsys('--help')
    commands = ['data', 'evaluate', 'train', 'predict', 'show', 'publish']
    for cmd in commands:
        assert cmd in top.stdout, cmd
        r = recsys(cmd, '--help')
        assert r.returncode == 0, (cmd, r.stderr[-2000:])
        assert r.stdout.startswith('usage: recsys ' + cmd), (cmd, r.stdout[:200])
    t = ' '.join(recsys('train', '--help').stdout.split())
    for flag in ('--sample-frac', '--retrieval-dim', '--blend-weight', '--track', '--no-track', '-f'):
        assert flag in t, flag
    assert "5% of observations" in t  # a per cent sign in a help text is printed, not %-formatted
    for sub in ('create-repo', 'delete-repo', 'upload'):
        r = recsys('publish', sub, '--help')
        assert r.returncode == 0 and r.stdout.startswith(f'usage: recsys publish {sub}'), (sub, r.stderr[-2000:])

def test_data_summary(tmp_path, small, isolated_env):
    write_movielens(small, tmp_path, 'ml-1m')
    r = recsys('data', '--dataset', 'ml-1m', '--data-dir', tmp_path, '--no-download', env={'RECSYS_CACHE_DIR': str(isolated_env)})
    assert r.returncode == 0, r.stderr
    n_items_rated = small.ratings.item_id.nunique()
    assert r.stdout.splitlines()[0] == (f"ml-1m: {len(small.ratings):,} ratings by {small.n_users:,} users of "
                                        f"{n_items_rated:,} items ({len(small.items):,} in the catalogue)")
    hist = small.ratings.rating.value_counts()
    for stars in range(1, 6):  # one histogram row per rating value with its count
        assert any(l.split()[:2] == [str(stars), f"{hist.get(stars, 0):,}"] for l in r.stdout.splitlines()), stars
    j = recsys('data', '--dataset', 'ml-1m', '--json', env={'RECSYS_DATA_DIR': str(tmp_path), 'RECSYS_CACHE_DIR': str(isolated_env)})
    s = json.loads(j.stdout)
    assert (s['ratings'], s['users'], s['items']) == (len(small.ratings), small.n_users, len(small.items))

def test_errors_are_one_line_with_status(tmp_path, small):
    r = recsys('data', '--dataset', 'ml-100k', '--data-dir', tmp_path, '--no-download')
    assert r.returncode == 1 and r.stderr.startswith('recsys data: error: ml-100k: found neither') and 'Traceback' not in r.stderr
    write_movielens(small, tmp_path, 'ml-100k')
    p = tmp_path/'ml-100k'/'u.data'; lines = p.read_text().splitlines(); lines[4] = '1\t2\t9\t3'
    p.write_text('\n'.join(lines) + '\n')
    r = recsys('data', '--dataset', 'ml-100k', '--data-dir', tmp_path)
    assert r.returncode == 1 and "u.data, line 5, field 'rating': rating 9 is outside the scale" in r.stderr
    assert 'Traceback' not in r.stderr
    r = recsys('data', '--dataset', 'ml-7m')
    assert r.returncode == 2 and 'invalid choice' in r.stderr

def test_evaluate_writes_the_metrics_table_and_report(tmp_path):
    from recsysmodel.data import synthetic_movielens
    write_movielens(synthetic_movielens(80, 150, 3_000, seed=4), tmp_path, 'ml-latest-small')
    out, rep = tmp_path/'m.json', tmp_path/'report'
    r = recsys('evaluate', '--data-dir', tmp_path, '--protocol', 'random-80-20', '--json', out, '--report', rep, '--quiet')
    assert r.returncode == 0, r.stderr
    table = json.loads(out.read_text())
    assert set(table) == {'most_popular', 'item_cooccurrence', 'ease', 'markov', 'global_mean', 'bias'}
    for k in (1, 5, 10, 50, 100):
        assert {f'top_{k}_accuracy', f'hr@{k}', f'recall@{k}', f'ndcg@{k}', f'coverage@{k}'} <= set(table['ease'])
    assert set(table['bias']) == {'rmse', 'mae'} and table['bias']['rmse'] < table['global_mean']['rmse']
    assert all(0 <= v <= 1 for m in ('most_popular', 'ease') for v in table[m].values())
    row = next(l for l in r.stdout.splitlines() if l.startswith('| ease |'))
    assert f"{table['ease']['hr@10']:.4f}" in row  # the printed table is the written one
    assert json.loads((rep/'metrics.json').read_text()) == table
    assert (rep/'popularity_bias.png').stat().st_size > 5_000 and 'ease' in (rep/'report.md').read_text()

def test_old_protocol_name_still_works_and_says_so(tmp_path, small):
    write_movielens(small, tmp_path, 'ml-1m')
    r = recsys('evaluate', '--dataset', 'ml-1m', '--data-dir', tmp_path, '--protocol', 'seed', '--models', 'most_popular', '--quiet')
    assert r.returncode == 0 and 'protocol random-80-20' in r.stdout
    assert "protocol 'seed' is now called 'random-80-20'" in r.stderr

@pytest.fixture(scope='module')
def run(synthetic_run): return synthetic_run  # conftest's run, shared with other modules: read here, never changed

def test_quiet_by_default_verbose_on_request(run):
    "No TensorFlow/CUDA log lines on a CPU machine unless asked for with -v (the second half shows the first could fail)."
    env = {k: v for k, v in os.environ.items() if k not in ('TF_CPP_MIN_LOG_LEVEL', 'RECSYS_LOG_LEVEL')}
    user = json.loads((run/'encoding.json').read_text())['user_ids'][0]
    quiet = subprocess.run([str(RECSYS), 'predict', '--user', str(user), '--artifacts', str(run)], capture_output=True, text=True, env=env, timeout=300)
    assert quiet.returncode == 0 and quiet.stderr == '', quiet.stderr[-2000:]
    loud = subprocess.run([str(RECSYS), '-v', 'predict', '--user', str(user), '--artifacts', str(run)], capture_output=True, text=True, env=env, timeout=300)
    assert loud.returncode == 0 and any(s in loud.stderr.lower() for s in ('cuda', 'onednn', 'cpu_feature_guard')), loud.stderr[-2000:]
    assert loud.stdout == quiet.stdout

def test_predict_rejects_ids_that_are_not_integers(run):
    r = recsys('predict', '--user', '20.5', '--artifacts', run)
    assert r.returncode == 2 and "user_id: this run's user ids are integers, got '20.5'" in r.stderr and 'Traceback' not in r.stderr
    r = recsys('predict', '--user', str(10**30), '--artifacts', run)
    assert r.returncode == 2 and 'out of the 64-bit range' in r.stderr and 'Traceback' not in r.stderr

def test_evaluate_rejects_unknown_models_and_protocols(tmp_path, small):
    write_movielens(small, tmp_path, 'ml-1m')
    r = recsys('evaluate', '--dataset', 'ml-1m', '--data-dir', tmp_path, '--models', 'svd,ease')
    assert r.returncode == 2 and 'unknown model(s) svd' in r.stderr
    assert recsys('evaluate', '--protocol', 'random').returncode == 2
