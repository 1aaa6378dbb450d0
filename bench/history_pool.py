"""Pooled histories, two forms -> bench/results/history_pool.json: when the product beats the segment sum.

    python bench/history_pool.py [--users 16,64,128,256,512,1024] [--lengths 5,20,100] [--reps 20]

The two-tower model's query pools each distinct user of a batch once: the sum of the embedding rows of their history
(`history_sums`). As a sparse segment sum, its gradient (TensorFlow's SparseSegmentSumGrad) gathers a row per history
item and merges the rows of each item; as a product, a (users x distinct items) matrix of counts times the distinct
items' rows, its gradient is two small matmuls with a row per distinct item already. For each number of users of a
batch and mean history length (a log-normal spread of lengths, at most 200, as `history_length` keeps; items drawn
with ML-20M-like popularity skew over 26,744 items, dim 128), this times the sums, their gradient and the merge a
sparse update does before it (what a training step pays for the history), each form in one graph, over 8 distinct
batches; milliseconds are medians of 3 rounds. `ratio` is users x distinct items / history rows, the figure
`product_pays` compares with `PRODUCT_RATIO`.
"""
import argparse, json, os, platform, statistics, subprocess, sys, time
from pathlib import Path
import recsysmodel.core  # quiet TensorFlow, Keras 2: before TensorFlow's first import
import numpy as np
import tensorflow as tf
from recsysmodel.retrieval import PRODUCT_RATIO, history_sums, product_pays

HERE = Path(__file__).resolve().parent
N_ITEMS, DIM, MAX_LEN = 26_744, 128, 200

def batches(users:int, length:int, n:int, rng) -> list:
    "`n` batches of `users` histories (mean length about `length`, at most MAX_LEN): (cols, seg) as `history_sums` takes them."
    pop = 1.0 / np.arange(1, N_ITEMS + 1) ** 1.1; pop /= pop.sum()
    out = []
    for _ in range(n):
        lens = np.clip(rng.lognormal(np.log(length), 0.8, users).astype(int), 1, MAX_LEN)
        cols = np.concatenate([rng.choice(N_ITEMS, k, replace=False, p=pop) for k in lens]).astype(np.int32)
        out.append((tf.constant(cols), tf.constant(np.repeat(np.arange(users), lens), tf.int64)))
    return out

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument('--users', default='16,64,128,256,512,1024', help='distinct users per batch, comma-separated')
    p.add_argument('--lengths', default='5,20,100', help='mean history lengths, comma-separated')
    p.add_argument('--reps', type=int, default=20, help='passes over the 8 batches per round')
    p.add_argument('--out', default=str(HERE/'results'/'history_pool.json'))
    a = p.parse_args(argv)
    rng = np.random.default_rng(0)
    table = tf.Variable(rng.normal(0, 0.05, (N_ITEMS + 1, DIM)).astype(np.float32))
    def step(form):
        @tf.function
        def f(cols, seg, n, w):
            with tf.GradientTape() as tape: loss = tf.reduce_sum(history_sums(table, cols, seg, n, form) * w)
            g = tape.gradient(loss, table)
            ix, at = tf.unique(g.indices)  # the merge Keras makes before a sparse update
            return tf.math.unsorted_segment_sum(g.values, at, tf.size(ix))
        return f
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=HERE, capture_output=True, text=True).stdout.strip() or None
    out = {'machine': {'cpus': os.cpu_count(), 'python': platform.python_version()}, 'commit': commit,
           'command': 'python bench/history_pool.py ' + ' '.join(sys.argv[1:] if argv is None else argv),
           'items': N_ITEMS, 'dim': DIM, 'product_ratio': PRODUCT_RATIO, 'runs': []}
    forms = {f: step(f) for f in ('segments', 'product')}
    for users in [int(x) for x in a.users.split(',')]:
        for length in [int(x) for x in a.lengths.split(',')]:
            bs = batches(users, length, 8, rng)
            w = tf.constant(rng.normal(size=(users, DIM)).astype(np.float32))
            rows = int(np.mean([len(c) for c, _ in bs])); distinct = int(np.mean([len(np.unique(c.numpy())) for c, _ in bs]))
            row = {'users': users, 'mean_length': length, 'rows': rows, 'distinct_items': distinct,
                   'ratio': round(users * distinct / rows, 1), 'auto': 'product' if product_pays(users, distinct, rows) else 'segments'}
            for name, f in forms.items():
                for c, s in bs[:2]: f(c, s, users, w)  # trace and warm up
                rounds = []
                for _ in range(3):
                    t = time.perf_counter()
                    for _ in range(a.reps):
                        for c, s in bs: f(c, s, users, w)
                    rounds.append((time.perf_counter() - t) / (a.reps * len(bs)) * 1000)
                row[f'{name}_ms'] = round(statistics.median(rounds), 2)
            row['faster'] = 'product' if row['product_ms'] < row['segments_ms'] else 'segments'
            out['runs'].append(row); print(json.dumps(row), file=sys.stderr)
    out['auto_right'] = sum(r['auto'] == r['faster'] for r in out['runs']), len(out['runs'])
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2) + '\n')
    print(f"wrote {a.out}", file=sys.stderr)

if __name__ == '__main__': main()
