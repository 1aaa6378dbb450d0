"""Ranking benchmark -> bench/results/ranking.json.

    python bench/ranking.py [--data-dir ../shared/data] [--repeats 1000]

1. Training throughput (ratings/s) of the default ranking model (DCN-v2 head, rating histories) on the
   random-80-20 protocol's training ratings, one epoch after a warm-up epoch; also with the listwise second task.
2. Scoring latency for 100 candidates of one user (p50/p99 over --repeats calls, after warm-up): the exported
   SavedModel's serving_default (raw ids in, ratings out) and Ranking.score_candidates (Python, encoded ids).
Uses ml-latest-small from --data-dir (default $RECSYS_DATA_DIR or ../shared/data) and says so when absent
(then synthetic data of the same size).
"""
import argparse, json, os, platform, sys, tempfile, time
from pathlib import Path
import recsysmodel.core  # quiet TensorFlow, Keras 2: before TensorFlow's first import
from common import small_movielens
import numpy as np
import tensorflow as tf
from recsysmodel.data import prepare
from recsysmodel.ranking import RankingConfig, Ranking, build_ranker, export_ranking, rating_dataset, retrieved_candidates
from recsysmodel.retrieval import train_retrieval

HERE = Path(__file__).resolve().parent

def throughput(data, items, cfg, candidates=None, epochs=2):
    m, _ = build_ranker(cfg, data, items, data.train, candidates=candidates)
    ds = rating_dataset(data.train, cfg.batch_size, cfg.seed)
    m.fit(ds, epochs=1, verbose=0)  # warm-up (tracing)
    t = time.perf_counter(); m.fit(ds, epochs=epochs - 1, verbose=0); secs = time.perf_counter() - t
    return m, len(data.train) * (epochs - 1) / secs

def percentiles(fn, repeats):
    for _ in range(20): fn()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter(); fn(); ts.append((time.perf_counter() - t) * 1e3)
    return {'p50_ms': float(np.percentile(ts, 50)), 'p99_ms': float(np.percentile(ts, 99))}

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument('--data-dir', default=os.environ.get('RECSYS_DATA_DIR', str(HERE.parent.parent / 'shared' / 'data')))
    p.add_argument('--repeats', type=int, default=1000, help='latency calls per measurement')
    p.add_argument('--out', default=str(HERE / 'results' / 'ranking.json'))
    a = p.parse_args(argv)
    ds, where = small_movielens(a.data_dir)
    data = prepare(ds, 'random-80-20')
    cfg = RankingConfig()
    model, rate = throughput(data, ds.items, cfg)
    ret, _ = train_retrieval(data, ds.items, query='history', epochs=2, refit=False, progress=False)
    cands = retrieved_candidates(ret, data.seen, 100)
    _, rate_lw = throughput(data, ds.items, RankingConfig(listwise_weight=1.0), candidates=cands)
    rk = Ranking(model, data.enc, (0.5, 5.0))
    rng = np.random.default_rng(0)
    users = rng.integers(0, data.n_users, 64)
    u_raw = data.enc.user_id(users)
    c_raw = data.enc.item_id(cands[users])
    with tempfile.TemporaryDirectory() as tmp:
        f = tf.saved_model.load(str(export_ranking(rk, Path(tmp) / 'ranking'))).signatures['serving_default']
        i = iter(range(10**9))
        def saved():
            j = next(i) % len(users)
            return f(user_id=tf.constant(u_raw[j:j + 1], tf.int64), item_id=tf.constant(c_raw[j:j + 1], tf.int64))
        lat_saved = percentiles(saved, a.repeats)
        def python():
            j = next(i) % len(users)
            return rk.score_candidates(users[j:j + 1], cands[users[j:j + 1]])
        lat_py = percentiles(python, a.repeats)
    res = {'benchmark': 'ranking', 'command': 'python bench/ranking.py ' + ' '.join(argv if argv is not None else sys.argv[1:]),
           'data': where, 'machine': {'cpus': os.cpu_count(), 'python': platform.python_version(), 'tensorflow': tf.__version__},
           'training': {'ratings': len(data.train), 'batch_size': cfg.batch_size, 'ratings_per_s': rate,
                        'with_listwise_ratings_per_s': rate_lw},
           'latency_100_candidates': {'savedmodel': lat_saved, 'python_score_candidates': lat_py, 'target_p50_ms': 3.0,
                                      'repeats': a.repeats}}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=2) + '\n')
    print(json.dumps(res, indent=2))

if __name__ == '__main__': main()
