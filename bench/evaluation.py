"""Evaluation benchmark -> bench/results/evaluation.json: every user of an ML-20M-shaped log under leave-last-out.

    python bench/evaluation.py [--ratings 20000000] [--models most_popular,factors_128,markov,item_cooccurrence,ease]
    python bench/evaluation.py --models sequence,sequence_all_positions,served_retrieval,served_retrieval_one_depth --out bench/results/evaluation_models.json

A synthetic log shaped like ML-20M (bench/scale.py's shapes: 138,493 users and 26,744 items at 20M ratings) is
split leave-last-out as a run splits it, and each model is fitted on the training part (timed apart) and scored
by `evaluate_topn` on the test part: every user, the whole catalogue, training items excluded, ranks with and
without them, top 100 lists (what a run's evaluation does for each model). Models:

- most_popular: its scores cost nothing, so its time is the harness's own;
- factors_128: a dot product of 128-d user and item vectors (random), which is what scoring the two-tower
  model costs once its query vectors exist (`Retrieval.score` for 'latest' and 'history' queries);
- markov, item_cooccurrence, ease: the baselines (EASE with the run's default lambda and item cap);
- sequence: the sequence model of the large-log settings (sampled softmax, its max_len resolved on this log), with
  the weights it is built with (scoring costs the same with any); sequence_all_positions: the same, with every
  position's state computed and the last one taken (how it scored before the last block attended from the last
  position alone);
- served_retrieval: the served two-tower model of the large-log settings ('latest' query, lazy Adam, 8 rows per user)
  behind its ScaNN index, scored as a run scores its `served` row (`ServedModel` over `serving_module`, 100
  candidates); served_retrieval_one_depth: the same with every user searched at the full depth (100 + the most rated
  items), as before most users were searched shallower.

Reported per model: fit seconds, evaluation seconds, nanoseconds per (user, item) pair, and the process's peak
resident memory after it. Target (issue 19): evaluating 138k users under leave-last-out within 5 minutes.

Beside them, the way ranks were computed before (a sort key for every (user, item): `sort_keys`, ranks by key
comparison, top 100 by `argpartition` of the keys), timed on the first --reference-users users' most-popular
scores, single batch loop as before, and checked to give the same ranks and top-100 lists as `evaluate_topn`.
"""
import argparse, json, resource, sys, time
from pathlib import Path
import recsysmodel.core  # quiet TensorFlow, Keras 2: before TensorFlow's first import
import numpy as np
from recsysmodel.data import interactions, prepare, synthetic_movielens
from recsysmodel.evaluation import EASE, ItemCooccurrence, Markov, MostPopular, _rank_part, evaluate_topn, sort_keys

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from scale import shape  # noqa: E402  the same ML-20M shapes as the whole-run benchmark
from common import machine  # noqa: E402

class Factors:
    "Random 128-d user and item vectors: the scoring cost of a two-tower model's catalogue scores."
    def __init__(self, dim:int=128): self.dim = dim
    def fit(self, train, n_users, n_items):
        rng = np.random.default_rng(0)
        self.U = rng.standard_normal((n_users, self.dim), np.float32)
        self.V = rng.standard_normal((n_items, self.dim), np.float32)
        return self
    def score(self, users): return self.U[users] @ self.V.T

class SequenceModel:
    "The large-log settings' sequence model as built (its scoring cost); `all_positions`: its last state taken from every position's."
    def __init__(self, data, items, all_positions:bool=False): self.data, self.items, self.all_positions = data, items, all_positions
    def fit(self, train, n_users, n_items):
        from recsysmodel.sequence import SequenceConfig, Sequence, build_sasrec
        cfg = SequenceConfig(loss='sampled').resolved(train, n_items)
        m, _ = build_sasrec(cfg, self.data, self.items, train)
        if self.all_positions: m.last_hidden = lambda items, gaps=None, ratings=None, vectors=None: m.hidden(items, gaps, ratings, vectors=vectors)[:, -1]
        self.seq = Sequence(m, self.data.enc, train, cfg)
        self.score(np.arange(8))  # warm: the scoring's first call builds its functions
        return self
    def score(self, users): return self.seq.score(users)

class ServedRetrieval:
    "The large-log settings' two-tower model as built, served behind ScaNN as a run's `served` row; `one_depth`: every user at the full depth."
    def __init__(self, data, items, one_depth:bool=False): self.data, self.items, self.one_depth = data, items, one_depth
    def fit(self, train, n_users, n_items):
        from recsysmodel.retrieval import RetrievalConfig, Retrieval, build_two_tower, serving_module
        from recsysmodel.runs import ServedModel, harness_scorer
        cfg = RetrievalConfig(query='latest', optimizer='lazy-adam', rows_per_user=8).resolved(train)
        m, _ = build_two_tower(cfg, self.data, self.items, train)
        self.mod = mod = serving_module(Retrieval(m, self.data.enc, interactions(train, n_users, n_items), cfg), 'scann', 100)  # kept: serve holds it weakly
        if self.one_depth: mod.light = mod.depth  # before its first call, which traces it
        self.depths = {'light': mod.light, 'full': mod.depth}
        self.scorer = harness_scorer(ServedModel(mod.serve, None, 0.5, 100), self.data.enc)
        self.score(np.arange(8)); self.score(np.flatnonzero(np.diff(self.mod.seen.row_splits.numpy()) > mod.light - 100)[:8])  # warm: traced, both searches
        return self
    def score(self, users): return self.scorer.score(users)

MODELS = {'most_popular': lambda d, i: MostPopular(), 'factors_128': lambda d, i: Factors(), 'markov': lambda d, i: Markov(),
          'item_cooccurrence': lambda d, i: ItemCooccurrence(), 'ease': lambda d, i: EASE(),
          'sequence': SequenceModel, 'sequence_all_positions': lambda d, i: SequenceModel(d, i, all_positions=True),
          'served_retrieval': ServedRetrieval, 'served_retrieval_one_depth': lambda d, i: ServedRetrieval(d, i, one_depth=True)}
DEFAULT = ('most_popular', 'factors_128', 'markov', 'item_cooccurrence', 'ease')

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
    p.add_argument('--models', default=','.join(DEFAULT), help=f"comma-separated, of {', '.join(MODELS)}")
    p.add_argument('--users', type=int, metavar='N', help="score the first N test users only (the models are fitted on everything); seconds for all users are then estimated from theirs")
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
    test = data.test if a.users is None else data.test[data.test.user_idx.isin(np.sort(data.test.user_idx.unique())[:a.users])]
    scored = int(test.user_idx.nunique())
    print(f"{len(ds.ratings):,} ratings, {n_users:,} test users x {n_items:,} items; split in {setup_s} s", file=sys.stderr)
    items = ds.items; del ds
    rows = {}
    for name in names:
        t = time.perf_counter()
        model = MODELS[name](data, items).fit(data.train, data.n_users, data.n_items)
        fit_s = time.perf_counter() - t
        t = time.perf_counter()
        res = evaluate_topn(model, test, data.seen, accuracy=False, progress=True)
        eval_s = time.perf_counter() - t
        rows[name] = {'fit_s': round(fit_s, 1), 'evaluate_s': round(eval_s, 1),
                      **({} if scored == n_users else {'users_scored': scored, 'evaluate_s_all_users_estimated': round(eval_s * n_users / scored, 1)}),
                      'ns_per_pair': round(eval_s / (scored * n_items) * 1e9, 2), 'peak_rss_gb': peak_gb(),
                      'hr@10': round(res.metrics['hr@10'], 4), 'ndcg@10': round(res.metrics['ndcg@10'], 4),
                      **({'depths': model.depths} if hasattr(model, 'depths') else {}),
                      **({'max_len': model.seq.model.max_len} if hasattr(model, 'seq') else {})}
        print(name, json.dumps(rows[name]), file=sys.stderr)
        del model
    ref = reference(MostPopular().fit(data.train, data.n_users, data.n_items), data.test, data.seen, a.reference_users) if a.reference_users else None
    if ref: print('reference', json.dumps(ref), file=sys.stderr)
    out = {'machine': machine(),
           'command': 'python bench/evaluation.py ' + ' '.join(argv if argv is not None else sys.argv[1:]),
           'data': {'kind': 'synthetic, ML-20M-shaped', 'ratings': a.ratings, 'test_users': n_users, 'items': n_items,
                    'protocol': 'leave-last-out', 'generate_and_split_s': setup_s},
           'target_evaluate_s': 300, 'models': rows, 'reference_keys_for_every_item': ref}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2))
    print(f"wrote {a.out}", file=sys.stderr)

if __name__ == '__main__': main()
