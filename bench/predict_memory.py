"""What the ranking model's calls leave behind in memory, by the number of pairs a call scores, with TensorFlow's oneDNN
kernels on and off -> bench/results/predict_memory.json.

    python bench/predict_memory.py [--calls predict:65536,predict:8192,candidates:51200,candidates:8192] [--pairs 140000]

`train_ranking` validates with `Ranking.predict`, 8,192 pairs a call by default (65,536 until this script showed what
those left held), and a two-stage evaluation scores each batch of 512 users' 100 candidates with
`Ranking.score_candidates`, 51,200 pairs a call. For each oneDNN setting (`TF_ENABLE_ONEDNN_OPTS=1`, then `=0`) and each
call and batch of --calls, a fresh process builds an untrained ranking model as a large-log run does (lazy Adam) on a
small synthetic log (20,000 users, 5,000 items, 400,000 ratings, split leave-last-out). It scores 1,000 of the pairs
first in one call (so the graph and the tables exist), then --pairs random pairs twice in calls of the batch: `predict`
of (user, item) pairs, or `score_candidates` of --pairs / 100 users' 100 candidates each, batch / 100 users a call
(rounded down). The resident memory (VmRSS after a garbage collection) before, after the first pass and after the second
is what that batch made the process hold. Every process's scores are compared bit for bit with those of the first
process of the same call: neither the batch nor the kernels may change a score.
"""
import argparse, json, os, subprocess, sys, tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from input_memory import rss_kib  # noqa: E402

CALLS = ('predict', 'candidates')
N_CANDIDATES = 100

def child(call:str, batch:int, pairs:int, out:str):
    import gc
    import recsysmodel.core  # noqa: F401  quiet TensorFlow, Keras 2: before TensorFlow's first import
    import numpy as np
    from tensorflow.python.util import _pywrap_util_port
    from recsysmodel.data import prepare, synthetic_movielens
    from recsysmodel.ranking import Ranking, RankingConfig, build_ranker
    gib = lambda: rss_kib('VmRSS') / 2**20
    syn = synthetic_movielens(n_users=20_000, n_items=5_000, n_ratings=400_000, seed=0)
    data = prepare(syn, 'leave-last-out')
    model, _ = build_ranker(RankingConfig(optimizer='lazy-adam', refit=False), data, syn.items, data.fit_part)
    r = Ranking(model, data.enc)
    rng = np.random.default_rng(0)
    if call == 'predict':
        u, i = rng.integers(0, data.n_users, pairs), rng.integers(0, data.n_items, pairs)
        score = lambda b, n=pairs: r.predict(u[:n], i[:n], batch=b)
    else:
        u = rng.integers(0, data.n_users, pairs // N_CANDIDATES)
        C = rng.integers(0, data.n_items, (len(u), N_CANDIDATES))
        score = lambda b, n=pairs: r.score_candidates(u[:n // N_CANDIDATES], C[:n // N_CANDIDATES], 'rating', batch=max(1, b // N_CANDIDATES))  # its batch counts users
    score(1000, 1000); gc.collect(); before = gib()  # the first call traces the graph: 1,000 pairs in one call
    p = score(batch); gc.collect(); first = gib()
    score(batch); gc.collect(); second = gib()
    np.save(out, p)
    per_call = batch if call == 'predict' else max(1, batch // N_CANDIDATES) * N_CANDIDATES  # whole users' candidates
    print(json.dumps({'onednn': bool(_pywrap_util_port.IsMklEnabled()), 'call': call, 'pairs_per_call': per_call,
                      'rss_gib_before': round(before, 2), 'rss_gib_after_first': round(first, 2),
                      'rss_gib_after_second': round(second, 2), 'held_gib': round(second - before, 2)}))

def parse_calls(text:str) -> list:
    "[(call, batch)] of 'call:batch,...'; ValueError naming the bad entry."
    out = []
    for part in (s.strip() for s in text.split(',') if s.strip()):
        call, _, b = part.partition(':')
        if call not in CALLS or not b.isdigit() or int(b) < 1: raise ValueError(f"{part!r} is not CALL:PAIRS with CALL one of {', '.join(CALLS)} and PAIRS >= 1")
        out.append((call, int(b)))
    if not out: raise ValueError("no call named")
    return out

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument('--calls', default='predict:65536,predict:8192,candidates:51200,candidates:8192',
                   help="CALL:PAIRS entries, comma-separated: the call (predict or candidates) and the pairs it scores a call "
                        "(default: predict's default batch before f727b0d and since; score_candidates' calls in a two-stage "
                        "evaluation, then a smaller one)")
    p.add_argument('--pairs', type=int, default=140_000, help="pairs scored (default: about a 20M run's validation ratings)")
    p.add_argument('--child', nargs=3, metavar=('CALL', 'BATCH', 'NPY'), help=argparse.SUPPRESS)
    p.add_argument('--out', default=str(HERE/'results'/'predict_memory.json'))
    a = p.parse_args(argv)
    if a.child: return child(a.child[0], int(a.child[1]), a.pairs, a.child[2])
    try: calls = parse_calls(a.calls)
    except ValueError as e: p.error(f"--calls: {e}")
    if a.pairs < 1000: p.error(f"--pairs must be at least 1000 (the first call's), got {a.pairs}")
    import numpy as np
    from common import machine
    rows, first = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ('1', '0'):
            for call, b in calls:
                npy = f"{tmp}/p{mode}_{call}_{b}.npy"
                r = subprocess.run([sys.executable, __file__, '--pairs', str(a.pairs), '--child', call, str(b), npy], capture_output=True,
                                   text=True, env={**os.environ, 'TF_ENABLE_ONEDNN_OPTS': mode})
                if r.returncode: raise SystemExit(f"the process for TF_ENABLE_ONEDNN_OPTS={mode}, {call}:{b} failed:\n{r.stderr[-3000:]}")
                row = {'TF_ENABLE_ONEDNN_OPTS': mode, **json.loads(r.stdout.strip().splitlines()[-1])}
                first.setdefault(call, np.load(npy))
                row['scores_identical_to_first_of_call'] = bool(np.array_equal(np.load(npy), first[call]))
                rows.append(row); print(row, file=sys.stderr)
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=HERE, capture_output=True, text=True).stdout.strip() or None
    out = {'commit': commit, 'machine': machine(), 'command': 'python bench/predict_memory.py ' + ' '.join(argv if argv is not None else sys.argv[1:]),
           'data': {'kind': 'synthetic', 'users': 20_000, 'items': 5_000, 'ratings': 400_000, 'pairs_scored': a.pairs,
                    'candidates_per_user': N_CANDIDATES}, 'runs': rows}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2) + '\n')
    print(f"wrote {a.out}", file=sys.stderr)

if __name__ == '__main__': main()
