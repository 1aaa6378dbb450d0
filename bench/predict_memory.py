"""What the ranking model's `predict` leaves behind in memory, by batch size, with TensorFlow's oneDNN kernels on and off
-> bench/results/predict_memory.json.

    python bench/predict_memory.py [--batches 65536,8192] [--pairs 140000]

`train_ranking` validates with `Ranking.predict`, which scores (user, item) pairs in batches of 65,536 by default. For
each oneDNN setting (`TF_ENABLE_ONEDNN_OPTS=1`, then `=0`: TensorFlow's own choice on a processor without AVX-512) and
each batch size, a fresh process builds an untrained ranking model as a large-log run does (lazy Adam) on a small
synthetic log (20,000 users, 5,000 items, 400,000 ratings, split leave-last-out), predicts the first 1,000 of --pairs
random pairs in one batch (so the graph and the tables exist), then all of them twice in batches of the batch size: the resident memory (VmRSS
after a garbage collection) before, after the first pass and after the second is what that batch size made the
process hold. Every process's predictions are compared with the first one's, bit for bit: the batch size and the
kernels must not change a prediction.
"""
import argparse, json, os, subprocess, sys, tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

def child(batch:int, pairs:int, out:str):
    import gc
    import recsysmodel.core  # noqa: F401  quiet TensorFlow, Keras 2: before TensorFlow's first import
    import numpy as np
    from tensorflow.python.util import _pywrap_util_port
    from recsysmodel.data import prepare, synthetic_movielens
    from recsysmodel.ranking import Ranking, RankingConfig, build_ranker
    def rss(): return int(next(l for l in open('/proc/self/status') if l.startswith('VmRSS')).split()[1]) / 2**20
    syn = synthetic_movielens(n_users=20_000, n_items=5_000, n_ratings=400_000, seed=0)
    data = prepare(syn, 'leave-last-out')
    model, _ = build_ranker(RankingConfig(optimizer='lazy-adam', refit=False), data, syn.items, data.fit_part)
    r = Ranking(model, data.enc)
    rng = np.random.default_rng(0)
    u, i = rng.integers(0, data.n_users, pairs), rng.integers(0, data.n_items, pairs)
    r.predict(u[:1000], i[:1000], batch=1000); gc.collect(); before = rss()
    p = r.predict(u, i, batch=batch); gc.collect(); first = rss()
    r.predict(u, i, batch=batch); gc.collect(); second = rss()
    np.save(out, p)
    print(json.dumps({'onednn': bool(_pywrap_util_port.IsMklEnabled()), 'batch': batch, 'rss_gib_before': round(before, 2),
                      'rss_gib_after_first': round(first, 2), 'rss_gib_after_second': round(second, 2),
                      'held_gib': round(second - before, 2)}))

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument('--batches', default='65536,8192', help='batch sizes of predict, comma-separated (default: the package default, then 8,192)')
    p.add_argument('--pairs', type=int, default=140_000, help='pairs predicted (default: about a 20M run\'s validation ratings)')
    p.add_argument('--child', nargs=2, metavar=('BATCH', 'NPY'), help=argparse.SUPPRESS)
    p.add_argument('--out', default=str(HERE/'results'/'predict_memory.json'))
    a = p.parse_args(argv)
    if a.child: return child(int(a.child[0]), a.pairs, a.child[1])
    try: batches = [int(b) for b in a.batches.split(',') if b.strip()]
    except ValueError: p.error(f"--batches must be integers separated by commas, got {a.batches!r}")
    if not batches or min(batches) < 1: p.error(f"--batches must name at least one batch size of 1 or more, got {a.batches!r}")
    import numpy as np
    from common import machine
    rows, first = [], None
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ('1', '0'):
            for b in batches:
                npy = f"{tmp}/p{mode}_{b}.npy"
                r = subprocess.run([sys.executable, __file__, '--pairs', str(a.pairs), '--child', str(b), npy], capture_output=True,
                                   text=True, env={**os.environ, 'TF_ENABLE_ONEDNN_OPTS': mode})
                if r.returncode: raise SystemExit(f"the process for TF_ENABLE_ONEDNN_OPTS={mode}, batch {b} failed:\n{r.stderr[-3000:]}")
                row = {'TF_ENABLE_ONEDNN_OPTS': mode, **json.loads(r.stdout.strip().splitlines()[-1])}
                first = first if first is not None else np.load(npy)
                row['predictions_identical_to_first'] = bool(np.array_equal(np.load(npy), first))
                rows.append(row); print(row, file=sys.stderr)
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=HERE, capture_output=True, text=True).stdout.strip() or None
    out = {'commit': commit, 'machine': machine(), 'command': 'python bench/predict_memory.py ' + ' '.join(argv if argv is not None else sys.argv[1:]),
           'data': {'kind': 'synthetic', 'users': 20_000, 'items': 5_000, 'ratings': 400_000, 'pairs_predicted': a.pairs},
           'runs': rows}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2) + '\n')
    print(f"wrote {a.out}", file=sys.stderr)

if __name__ == '__main__': main()
