import os
from pathlib import Path
import pytest
from recsysmodel.data import synthetic_movielens

ROOT = Path(__file__).resolve().parents[1]

@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    "Each test gets its own parsed-data cache and no RECSYS_DATA_DIR from the caller."
    monkeypatch.setenv('RECSYS_CACHE_DIR', str(tmp_path/'cache'))
    monkeypatch.delenv('RECSYS_DATA_DIR', raising=False)
    return tmp_path/'cache'

@pytest.fixture(scope='session')
def small():
    "A small synthetic dataset with whole-star ratings, writable in every layout."
    return synthetic_movielens(n_users=40, n_items=100, n_ratings=800, seed=5, integer_ratings=True)

@pytest.fixture(scope='session')
def synthetic_run(tmp_path_factory):
    """One run of all three models on the synthetic dataset (leave-last-out, one epoch, no baselines), trained once for
    the test modules that only read a run (the CLI, the service, the wheel): a test that changes files changes a copy."""
    from recsysmodel.train import run_training
    return run_training(dataset='synthetic', protocol='leave-last-out', epochs=1, out_dir=str(tmp_path_factory.mktemp('runs')),
                        track=False, progress=False, baselines=False)

def snapshot(folder) -> dict:
    "Every file under `folder` with its size and mtime: equal snapshots mean nothing was written."
    folder = Path(folder)
    if not folder.exists(): return {}
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob('*')}
