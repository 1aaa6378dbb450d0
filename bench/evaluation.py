"""Evaluation benchmark -> bench/results/evaluation.json: every user of an ML-20M-shaped log under leave-last-out.

    python bench/evaluation.py [--ratings 20000000] [--models most_popular,factors_128,markov,item_cooccurrence,ease]

A synthetic log shaped like ML-20M (bench/scale.py's shapes: 138,493 users and 26,744 items at 20M ratings) is
split leave-last-out as a run splits it, and each model is fitted on the training part (timed apart) and scored
by `evaluate_topn` on the test part: every user, the whole catalogue, training items excluded, ranks with and
without them, top 100 lists (what a run's evaluation does for each model). Models:

- most_popular: its scores cost nothing, so its time is the harness's own;
- factors_128: a dot product of 128-d user and item vectors (random), which is what scoring the two-tower
  model costs once its query vectors exist (`Retrieval.score` for 'latest' and 'history' queries);
- markov, item_cooccurrence, ease: the baselines (EASE with the run's default lambda and item cap).

Reported per model: fit seconds, evaluation seconds, nanoseconds per (user, item) pair, and the process's peak
resident memory after it. Target (issue 19): evaluating 138k users under leave-last-out within 5 minutes.

Beside them, the way ranks were computed before (a sort key for every (user, item): `sort_keys`, ranks by key
comparison, top 100 by `argpartition` of the keys), timed on the first --reference-users users' most-popular
scores, single batch loop as before, and checked to give the same ranks and top-100 lists as `evaluate_topn`.
"""
import argparse, json, os, platform, resource, sys, time
from pathlib import Path
import recsysmodel.core  # quiet TensorFlow, Keras 2: before TensorFlow's first import
import numpy as np
from recsysmodel.data import prepare, synthetic_movielens
from recsysmodel.evaluation import EASE, ItemCooccurrence, Markov, MostPopular, _rank_part, evaluate_topn, sort_keys

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from scale import shape  # noqa: E402  the same ML-20M shapes as the whole-run benchmark

class Factors:
    "Random 128-d user and item vectors: the scoring cost of a two-tower model's catalogue scores."
    def __init__(self, dim:int=128): self.dim = dim
    def fit(self, train, n_users, n_items):
        rng = np.random.default_rng(0)
        self.U = rng.standard_normal((n_users, self.dim), np.float32)
        self.V = rng.standard_normal((n_items, self.dim), np.float32)
        return self
    def score(self, users): return self.U[users] @ self.V.T

MODELS = {'most_popular': MostPopular, 'factors_128': Factors, 'markov': Markov,
          'item_cooccurrence': ItemCooccurrence, 'ease': EASE}

def reference(model, test, seen, n_users:int, kmax:int=100, batch:int=512) -> dict:
    "Seconds per pair of the key-for-every-item ranking on the first `n_users` test users, and whether it agrees with today's."
    test = test.sort_values('user_idx', kind='stable').head(n_users)  # leave-last-out: one row per user
    users, items = test.user_idx.to_numpy(), test.item_idx.to_numpy()
    n_items, secs, same = seen.shape[1], 0.0, True
    for b in range(0, len(users), batch):
        ub, ib = users[b:b + batch], items[b:b + batch]
        S = np.array(model.score(ub), np.float32); r, c = seen[ub].nonzero()
        t = time.perf_counter()
        X = S.copy(); X[r, c] = -np.inf
        K = sort_keys(X, ub)
        rank = (K > K[np.arange(len(K)), ib][:, None]).sum(1)
        top = np.argpartition(K, n_items - kmax, axis=1)[:, n_items - kmax:]
        top = np.take_along_axis(top, np.argsort(np.take_along_axis(K, top, 1), axis=1)[:, ::-1], 1)
        secs += time.perf_counter() - t
        _, rank2, top2 = _rank_part(S, ub, np.arange(len(ub)), ib, seen[ub], kmax, False)
        same &= bool(np.array_equal(rank, rank2) and np.array_equal(top, top2))
    return {'users': len(users), 'keys_ns_per_pair': round(secs / (len(users) * n_items) * 1e9, 2), 'same_ranks_and_top_100': same}

def peak_gb() -> float: return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument('--ratings', type=int, default=20_000_000, help='ratings of the synthetic log (default: ML-20M size)')
    p.add_argument('--models', default=','.join(MODELS), help=f"comma-separated, of {', '.join(MODELS)}")
    p.add_argument('--reference-users', type=int, default=4096, help='users on whom the former key-for-every-item ranking is timed (0: not)')
    p.add_argument('--out', default=str(HERE/'results'/'evaluation.json'))
    a = p.parse_args(argv)
    names = a.models.split(',')
    if bad := [n for n in names if n not in MODELS]: p.error(f"unknown models {bad}: choose from {list(MODELS)}")
    t = time.perf_counter()
    ds = synthetic_movielens(**shape(a.ratings), seed=0)
    data = prepare(ds, 'leave-last-out')
    setup_s = round(time.perf_counter() - t, 1)
    n_users, n_items = int(data.test.user_idx.nunique()), data.n_items
    print(f"{len(ds.ratings):,} ratings, {n_users:,} test users x {n_items:,} items; split in {setup_s} s", file=sys.stderr)
    del ds
    rows = {}
    for name in names:
        t = time.perf_counter()
        model = MODELS[name]().fit(data.train, data.n_users, data.n_items)
        fit_s = time.perf_counter() - t
        t = time.perf_counter()
        res = evaluate_topn(model, data.test, data.seen, accuracy=False, progress=True)
        eval_s = time.perf_counter() - t
        rows[name] = {'fit_s': round(fit_s, 1), 'evaluate_s': round(eval_s, 1),
                      'ns_per_pair': round(eval_s / (n_users * n_items) * 1e9, 2), 'peak_rss_gb': peak_gb(),
                      'hr@10': round(res.metrics['hr@10'], 4), 'ndcg@10': round(res.metrics['ndcg@10'], 4)}
        print(name, json.dumps(rows[name]), file=sys.stderr)
        del model
    ref = reference(MostPopular().fit(data.train, data.n_users, data.n_items), data.test, data.seen, a.reference_users) if a.reference_users else None
    if ref: print('reference', json.dumps(ref), file=sys.stderr)
    out = {'machine': {'cpus': os.cpu_count(), 'python': platform.python_version()},
           'command': 'python bench/evaluation.py ' + ' '.join(argv if argv is not None else sys.argv[1:]),
           'data': {'kind': 'synthetic, ML-20M-shaped', 'ratings': a.ratings, 'test_users': n_users, 'items': n_items,
                    'protocol': 'leave-last-out', 'generate_and_split_s': setup_s},
           'target_evaluate_s': 300, 'models': rows, 'reference_keys_for_every_item': ref}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2))
    print(f"wrote {a.out}", file=sys.stderr)

if __name__ == '__main__': main()
