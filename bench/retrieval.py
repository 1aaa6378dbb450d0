"""Retrieval benchmark -> bench/results/retrieval.json (+ retrieval_scann_sweep.png).

    python bench/retrieval.py [--data-dir ../shared/data] [--candidates 1000000] [--queries 1000]

1. Training throughput (ratings/s) of recsysmodel's two-tower pipeline (integer ids prepared once, cached
   tf.data, in-batch softmax, no metrics in training steps) and of the TFRS tutorial recipe (string ids through
   StringLookup in every batch, FactorizedTopK metrics over the catalogue in every training step), same data and
   batch size, one epoch each after a warm-up epoch; ours with each query mode (`query='history'`, `'latest'`: the
   5 latest items pooled apart, `'gap-mixture'`: the 2 items around each rating).
2. ScaNN vs brute force on N synthetic candidates of dimension 64 (a mixture of Gaussian clusters, as learned
   embeddings are): a sweep of leaves to search / re-ranked candidates, recall@10 against the exact top 10 and
   queries per second (batches of queries), plotted.
3. On ml-latest-small with a trained `query='history'` model: ScaNN recall@100 against brute force over every user,
   and single-user top-10 latency (p50/p99) of Retrieval.recommend and of the exported SavedModel; then the default
   gap-mixture model of this random split, served exactly: SavedModel latency for the median and the heaviest user.
Uses ml-latest-small from --data-dir (default $RECSYS_DATA_DIR or ../shared/data) and says so when absent
(then synthetic data of the same size).
"""
import argparse, json, os, platform, statistics, sys, tempfile, time
from pathlib import Path
import recsysmodel.core  # quiet TensorFlow, Keras 2: before TensorFlow's first import
from common import small_movielens
import numpy as np
import scann  # noqa: F401  (ScaNN ops for the SavedModel)
import tensorflow as tf
import tensorflow_recommenders as tfrs
from recsysmodel.data import prepare
from recsysmodel.retrieval import (RetrievalConfig, build_two_tower, build_index, export_retrieval, query_index,
                                   train_retrieval, training_dataset)

HERE = Path(__file__).resolve().parent

def tutorial_throughput(train, items, batch_size, epochs=2):
    "The TFRS basic-retrieval tutorial's recipe: string ids, StringLookup per batch, FactorizedTopK in training."
    users = train.user_id.astype(str).to_numpy(); movies = train.item_id.astype(str).to_numpy()
    uniq_u, uniq_m = np.unique(users), np.unique(items.item_id.astype(str).to_numpy())
    dim = 32
    class Tutorial(tfrs.Model):
        def __init__(self):
            super().__init__()
            self.user_model = tf.keras.Sequential([tf.keras.layers.StringLookup(vocabulary=uniq_u, mask_token=None),
                                                   tf.keras.layers.Embedding(len(uniq_u) + 1, dim)])
            self.movie_model = tf.keras.Sequential([tf.keras.layers.StringLookup(vocabulary=uniq_m, mask_token=None),
                                                    tf.keras.layers.Embedding(len(uniq_m) + 1, dim)])
            cands = tf.data.Dataset.from_tensor_slices(uniq_m).batch(128).map(self.movie_model)
            self.task = tfrs.tasks.Retrieval(metrics=tfrs.metrics.FactorizedTopK(candidates=cands))
        def compute_loss(self, f, training=False):
            return self.task(self.user_model(f['user_id']), self.movie_model(f['movie_title']))
    m = Tutorial(); m.compile(optimizer=tf.keras.optimizers.Adagrad(0.1))
    ds = tf.data.Dataset.from_tensor_slices({'user_id': users, 'movie_title': movies}).shuffle(100_000, seed=42).batch(batch_size)
    m.fit(ds, epochs=1, verbose=0)  # warm-up (tracing)
    t = time.perf_counter(); m.fit(ds, epochs=epochs - 1, verbose=0); secs = time.perf_counter() - t
    return len(train) * (epochs - 1) / secs

def ours_throughput(data, items, batch_size, epochs=2, query='history'):
    cfg = RetrievalConfig(query=query, batch_size=batch_size).resolved(data.train)
    m, _ = build_two_tower(cfg, data, items, data.train)
    ds = training_dataset(cfg, data.train, data.n_items)
    m.fit(ds, epochs=1, verbose=0)
    t = time.perf_counter(); m.fit(ds, epochs=epochs - 1, verbose=0); secs = time.perf_counter() - t
    return len(data.train) * (epochs - 1) / secs

def clustered(n, dim, rng, n_clusters=1000):
    centers = rng.normal(size=(n_clusters, dim)).astype(np.float32)
    x = centers[rng.integers(0, n_clusters, n)] + 0.5 * rng.normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)

def timed_queries(layer, Q, batch=100):
    t = time.perf_counter(); ids = []
    for s in range(0, len(Q), batch): ids.append(layer(tf.constant(Q[s:s + batch]))[1].numpy())
    return np.concatenate(ids), len(Q) / (time.perf_counter() - t)

def scann_sweep(n, n_queries, dim=64, k=10, seed=0):
    rng = np.random.default_rng(seed)
    X, Q = clustered(n, dim, rng), clustered(n_queries, dim, rng)
    bf = tfrs.layers.factorized_top_k.BruteForce(k=k); bf.index(tf.constant(X))
    bf(tf.constant(Q[:10]))
    exact, bf_qps = timed_queries(bf, Q)
    points = []
    root = int(np.sqrt(n))
    for leaves, search, reorder in [(2 * root, 25, 100), (2 * root, 100, 250), (2 * root, 200, 1000), (2 * root, 400, 1000),
                                    (2 * root, 400, 2000), (root, 100, 1000), (root, 200, 1000), (root, 300, 2000)]:
        t = time.perf_counter()
        sc = tfrs.layers.factorized_top_k.ScaNN(k=k, num_leaves=leaves, num_leaves_to_search=search,
                                                num_reordering_candidates=reorder)
        sc.index(tf.constant(X)); build = time.perf_counter() - t
        sc(tf.constant(Q[:10]))
        got, qps = timed_queries(sc, Q)
        recall = float(np.mean([len(set(a) & set(b)) / k for a, b in zip(got, exact)]))
        points.append({'num_leaves': leaves, 'num_leaves_to_search': search, 'num_reordering_candidates': reorder,
                       'recall@10': recall, 'qps': qps, 'speedup': qps / bf_qps, 'build_s': build})
        print(f"  scann leaves {leaves} search {search} reorder {reorder}: recall@10 {recall:.4f}, {qps:,.0f} q/s "
              f"({qps / bf_qps:.1f}x brute force), built in {build:.1f}s", file=sys.stderr)
    return {'candidates': n, 'dim': dim, 'queries': n_queries, 'query_batch': 100, 'brute_force_qps': bf_qps, 'sweep': points}

def latency(fn, n=300):
    for _ in range(20): fn()
    ts = []
    for _ in range(n):
        t = time.perf_counter(); fn(); ts.append((time.perf_counter() - t) * 1000)
    return {'p50_ms': float(np.percentile(ts, 50)), 'p99_ms': float(np.percentile(ts, 99)), 'calls': n}

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data-dir', default=os.environ.get('RECSYS_DATA_DIR', str(HERE.parent.parent/'shared'/'data')))
    ap.add_argument('--candidates', type=int, default=1_000_000)
    ap.add_argument('--queries', type=int, default=1000)
    ap.add_argument('--batch-size', type=int, default=1024)
    ap.add_argument('--out', type=Path, default=HERE/'results'/'retrieval.json')
    a = ap.parse_args()
    ds, source = small_movielens(a.data_dir)
    data = prepare(ds, 'random-80-20')
    res = {'benchmark': 'retrieval', 'command': 'python bench/retrieval.py ' + ' '.join(sys.argv[1:]), 'data': source,
           'machine': {'cpus': os.cpu_count(), 'python': platform.python_version(), 'tensorflow': tf.__version__}}
    print('training throughput...', file=sys.stderr)
    ours, tut = ours_throughput(data, ds.items, a.batch_size), tutorial_throughput(ds.ratings.iloc[data.train.index], ds.items, a.batch_size)
    recent = ours_throughput(data, ds.items, a.batch_size, query='latest')
    around = ours_throughput(data, ds.items, a.batch_size, query='gap-mixture')
    res['training'] = {'batch_size': a.batch_size, 'ratings': len(data.train), 'ours_ratings_per_s': ours,
                       'tutorial_ratings_per_s': tut, 'speedup': ours / tut, 'target_speedup': 5,
                       'ours_with_5_latest_items_ratings_per_s': recent, 'ours_with_2_items_around_ratings_per_s': around}
    print(f"  ours {ours:,.0f} ratings/s, tutorial recipe {tut:,.0f} ratings/s: {ours / tut:.1f}x", file=sys.stderr)
    print(f'ScaNN vs brute force on {a.candidates:,} candidates...', file=sys.stderr)
    res['ann'] = scann_sweep(a.candidates, a.queries)
    ok = [p for p in res['ann']['sweep'] if p['recall@10'] >= 0.95]
    res['ann']['best_at_recall_0.95'] = max(ok, key=lambda p: p['qps']) if ok else None
    print('trained model on the real catalogue...', file=sys.stderr)
    ret, hist = train_retrieval(data, ds.items, progress=False, query='history')  # one query vector per user: indexable
    users = np.arange(data.n_users)
    exact, _ = query_index(ret, build_index(ret, 'brute_force', k=100), users, k=100)
    approx, _ = query_index(ret, build_index(ret, 'scann', k=100), users, k=100)
    res['catalogue'] = {'items': data.n_items, 'scann_recall@100': float(np.mean([len(set(x) & set(y)) / len(y) for x, y in zip(approx, exact)])),
                        'target_recall@100': 0.95}
    u = int(ds.ratings.user_id.iloc[0])
    res['latency_top10'] = {'recommend': latency(lambda: ret.recommend(u, 10))}
    path = export_retrieval(ret, Path(tempfile.mkdtemp())/'retrieval', kind='scann', k=10)
    f = tf.saved_model.load(str(path)).signatures['serving_default']
    uid = tf.constant([u], tf.int64)
    res['latency_top10']['saved_model'] = latency(lambda: f(user_id=uid))
    res['latency_top10']['target_p50_ms'] = 2
    print('gap-mixture model (the default on this random split), served exactly...', file=sys.stderr)
    mix, _ = train_retrieval(data, ds.items, progress=False)
    f = tf.saved_model.load(str(export_retrieval(mix, Path(tempfile.mkdtemp())/'mixture', kind='brute_force', k=10))).signatures['serving_default']
    n_rated = data.train.groupby('user_idx').size()
    for name, ui in (('median_user', int((n_rated - n_rated.median()).abs().idxmin())), ('heaviest_user', int(n_rated.idxmax()))):
        uid = tf.constant([int(data.enc.user_ids[ui])], tf.int64)
        res['latency_top10'][f'gap_mixture_saved_model_{name}'] = {'ratings': int(n_rated[ui]), **latency(lambda: f(user_id=uid), n=100)}
    print(json.dumps(res['catalogue']), json.dumps(res['latency_top10']), file=sys.stderr)
    import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.8))
    sw = res['ann']['sweep']
    ax.plot([p['recall@10'] for p in sw], [p['qps'] for p in sw], 'o', label='ScaNN (leaves / searched / re-ranked)')
    for p in sw: ax.annotate(f"{p['num_leaves']}/{p['num_leaves_to_search']}/{p['num_reordering_candidates']}", (p['recall@10'], p['qps']), fontsize=7)
    ax.axhline(res['ann']['brute_force_qps'], color='k', ls='--', label='brute force')
    ax.set(yscale='log', xlabel='recall@10 vs brute force', ylabel='queries / s',
           title=f"{a.candidates:,} candidates x 64 dims, 2 cores"); ax.grid(alpha=.3); ax.legend(fontsize=8)
    fig.tight_layout(); fig.savefig(a.out.parent/'retrieval_scann_sweep.png', dpi=110)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(res, indent=2) + '\n')
    print(json.dumps(res, indent=2))

if __name__ == '__main__': main()
