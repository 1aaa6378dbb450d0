"""Serving benchmark -> bench/results/predict.json.

    python bench/predict.py [--run runs/<id> | --out-dir runs] [--repeats 1000]

Loads a training run with `Recommender.load` (checksums verified; load time reported) and measures, after warm-up:
1. warm `recommend(user_id, k=10)` latency for one user (p50/p99 over --repeats calls, users drawn at random) —
   retrieval SavedModel -> ranking SavedModel -> blend -> top-k with titles;
2. the peak resident memory that `recommend_batch` of the 16 heaviest users adds (a gap-mixture run scores every gap
   of each user's timeline against the whole catalogue: 2.4 GB on ml-latest-small before users were served in
   memory-bounded chunks, measured with /tmp/exp/batch_mem.py);
3. `recommend_batch` throughput (users/s) over every user of the run, and the process's peak resident memory.
The run defaults to the latest under --out-dir (default runs/); without one, a run is trained first on ml-latest-small
from --data-dir (default $RECSYS_DATA_DIR or ../shared/data; synthetic data of the same size when absent, and the JSON
says which) with --epochs epochs.
"""
import argparse, json, os, platform, sys, tempfile, time
from pathlib import Path
import recsysmodel.core  # quiet TensorFlow, Keras 2: before TensorFlow's first import
import resource
import numpy as np
from recsysmodel.data import find_source, load_movielens
from recsysmodel.predict import Recommender
from recsysmodel.runs import latest_run

HERE = Path(__file__).resolve().parent

def percentiles(fn, args, repeats):
    for a in args[:20]: fn(a)
    ts = []
    for i in range(repeats):
        a = args[i % len(args)]
        t = time.perf_counter(); fn(a); ts.append((time.perf_counter() - t) * 1e3)
    return {'p50_ms': round(float(np.percentile(ts, 50)), 3), 'p99_ms': round(float(np.percentile(ts, 99)), 3), 'calls': repeats}

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument('--run', help='run folder to serve (default: latest under --out-dir, else train one)')
    p.add_argument('--out-dir', default='runs')
    p.add_argument('--data-dir', default=os.environ.get('RECSYS_DATA_DIR', str(HERE.parent.parent / 'shared' / 'data')))
    p.add_argument('--epochs', type=int, default=3)
    p.add_argument('--protocol', default='random-80-20', help='protocol of a run trained here (default: %(default)s)')
    p.add_argument('--query', default='gap-mixture', help='retrieval query of a run trained here (default: %(default)s)')
    p.add_argument('--index', default='brute_force', help='served index of a run trained here (default: %(default)s)')
    p.add_argument('--repeats', type=int, default=1000, help='latency calls')
    p.add_argument('--out', default=str(HERE / 'results' / 'predict.json'))
    a = p.parse_args(argv)
    run = Path(a.run) if a.run else latest_run(a.out_dir)
    if run is None:
        from recsysmodel.train import run_training
        have = find_source('ml-latest-small', a.data_dir) is not None
        if not have: print(f"ml-latest-small not found in {a.data_dir}: training on synthetic data", file=sys.stderr)
        run = run_training(dataset='ml-latest-small' if have else 'synthetic', data_dir=a.data_dir, download=False, epochs=a.epochs,
                           protocol=a.protocol, query=a.query, index=a.index, out_dir=tempfile.mkdtemp(), track=False,
                           baselines=False, progress=False)
    t = time.perf_counter(); rec = Recommender.load(run); load_s = time.perf_counter() - t
    heavy = None
    if rec.manifest['dataset']['name'] == 'ml-latest-small' and find_source('ml-latest-small', a.data_dir):
        counts = load_movielens('ml-latest-small', a.data_dir, download=False).ratings.user_id.value_counts()
        heavy = counts.index[:16].to_numpy()
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t = time.perf_counter(); rec.recommend_batch(heavy, 10); heavy_s = time.perf_counter() - t
        heavy = {'users': 16, 'most_ratings': int(counts.iloc[0]), 'seconds': round(heavy_s, 2),
                 'peak_rss_growth_mb': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - rss0)}
    rng = np.random.default_rng(0)
    users = rng.choice(rec.user_ids, 256).tolist()
    single = percentiles(lambda u: rec.recommend(u, 10), users, a.repeats)
    rec.recommend_batch(rec.user_ids[:256], 10)  # warm-up
    t = time.perf_counter(); out = rec.recommend_batch(rec.user_ids, 10); secs = time.perf_counter() - t
    m = rec.manifest
    res = {'run': m['run_id'], 'dataset': m['dataset']['name'], 'catalogue_items': m['dataset']['items'], 'users': len(rec.user_ids),
           'served': m['served'], 'load_seconds': round(load_s, 2),
           'recommend_k10_latency': single, 'target_p50_ms': 5.0,
           'batch': {'users': len(rec.user_ids), 'rows': len(out), 'seconds': round(secs, 3), 'users_per_s': round(len(rec.user_ids) / secs, 1),
                     'users_per_model_call': rec.served.batch_users},
           'heaviest_users_batch': heavy, 'peak_rss_mb': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
           'machine': {'cpus': os.cpu_count(), 'python': platform.python_version()}, 'command': 'python bench/predict.py ' + ' '.join(argv or sys.argv[1:])}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=2) + '\n')
    print(json.dumps(res, indent=2))

if __name__ == '__main__': main()
