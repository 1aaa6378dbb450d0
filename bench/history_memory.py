"""What building the users' histories costs in memory -> bench/results/history_memory.json.

    python bench/history_memory.py [--ratings 20000000] [--functions A,B] [--out bench/results/history_memory.json]

Choosing the served model without refit (`Run.choose_served`) gives the retrieval, ranking and sequence models the
tuning part's histories for validation, then the training data's again: each `set_history` builds every user's
history from the whole log. This measures the functions those calls run, one after the other, on a synthetic log of
ML-20M's shape (`bench/scale.py`'s, encoded to int32 user and item indices, float32 ratings, int64 timestamps, as a
run's split holds them): `user_histories` and `interactions` (retrieval's), `rated_histories` and `user_features`
(ranking's), `history_matrix` (the sequence model's); then the other functions that order the whole log by user and
time: `recent_contexts` (retrieval's training rows, the 'latest' query's 5 items), `training_windows` (the sequence
model's) and `Markov.fit` (a baseline). Reported per function: its seconds, its peak resident memory above what the
process held before the call (the high-water mark is reset before each call through /proc/self/clear_refs, so Linux
only), the size of what it returns, and a digest of it (two versions of a function that return the same arrays to the bit
have the same digest).
"""
import argparse, json, subprocess, sys, time
from pathlib import Path
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from input_memory import rss_kib  # noqa: E402
from scale import shape  # noqa: E402
from common import machine  # noqa: E402

def log_of(n_ratings:int):
    "A synthetic log of `n_ratings` with ML-20M's shape, as a run's split holds it: (frame, users, items)."
    import numpy as np, pandas as pd
    from recsysmodel.data import synthetic_movielens
    r = synthetic_movielens(**shape(n_ratings), seed=0).ratings
    df = pd.DataFrame({'user_idx': pd.factorize(r.user_id)[0].astype(np.int32), 'item_idx': pd.factorize(r.item_id)[0].astype(np.int32),
                       'rating': r.rating.to_numpy(np.float32), 'timestamp': r.timestamp.to_numpy(np.int64)})
    return df, int(df.user_idx.max()) + 1, int(df.item_idx.max()) + 1

def training_rows(df, n_items:int) -> tuple:
    "The users, items and contexts of retrieval's training rows, as `training_dataset` takes them from `recent_contexts`."
    import numpy as np
    from recsysmodel.retrieval import recent_contexts
    first, C = recent_contexts(df, n_items, 5)
    if not isinstance(first, np.ndarray): return first.user_idx.to_numpy(np.int32), first.item_idx.to_numpy(np.int32), C  # a sorted copy (220e84d and earlier)
    return df.user_idx.to_numpy(np.int32)[first], df.item_idx.to_numpy(np.int32)[first], C  # the rows' positions

def measure(f) -> dict:
    "Seconds, peak GiB above the memory held before, and GiB returned, of calling `f`."
    import gc
    gc.collect()
    Path('/proc/self/clear_refs').write_text('5')  # the high-water mark back to what is held now
    before, t = rss_kib('VmRSS'), time.perf_counter()
    out = f()
    s, peak = time.perf_counter() - t, rss_kib('VmHWM') - before
    import hashlib, numpy as np
    arrays = [a for o in (out if isinstance(out, tuple) else (out,)) for a in ((o.data, o.indices, o.indptr) if hasattr(o, 'indptr') else (o,))]
    digest = hashlib.sha256()
    for x in arrays: digest.update(str((x.dtype, x.shape)).encode()); digest.update(np.ascontiguousarray(x).tobytes())
    return {'s': round(s, 2), 'peak_above_gib': round(peak / 2**20, 3), 'returned_gib': round(sum(x.nbytes for x in arrays) / 2**30, 3),
            'sha256': digest.hexdigest()[:16]}  # of what it returned (dtypes, shapes, bytes): equal digests, equal results

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument('--ratings', type=int, default=20_000_000, help='ratings of the synthetic log (ML-20M shaped)')
    p.add_argument('--functions', metavar='A,B', help='comma-separated subset of the functions above (default: all)')
    p.add_argument('--out', default=str(HERE/'results'/'history_memory.json'))
    a = p.parse_args(argv)
    if not Path('/proc/self/clear_refs').exists(): raise SystemExit("history_memory.py reads and resets /proc/self's memory figures: Linux only")
    import recsysmodel.core  # quiet TensorFlow, Keras 2: before TensorFlow's first import
    from recsysmodel.data import interactions
    from recsysmodel.evaluation import Markov
    from recsysmodel.retrieval import user_histories
    from recsysmodel.ranking import rated_histories, user_features
    from recsysmodel.sequence import history_matrix, training_windows
    t = time.perf_counter()
    df, nu, ni = log_of(a.ratings)
    data = {'ratings': len(df), 'users': nu, 'items': ni, 'frame_gib': round(df.memory_usage(deep=True).sum() / 2**30, 2),
            'generate_s': round(time.perf_counter() - t, 1)}
    print(f"{len(df):,} ratings, {nu:,} users, {ni:,} items", file=sys.stderr)
    calls = {'user_histories': lambda: user_histories(df, nu, ni, 200), 'interactions': lambda: interactions(df, nu, ni),
             'rated_histories': lambda: rated_histories(df, nu, ni, 200), 'user_features': lambda: user_features(df, nu),
             'history_matrix': lambda: history_matrix(df, nu, ni, 200), 'recent_contexts': lambda: training_rows(df, ni),
             'training_windows': lambda: tuple(training_windows(df, ni, 200).values()),
             'markov_fit': lambda: (lambda m: (m.T, m.last, m.backoff))(Markov().fit(df, nu, ni))}
    if a.functions:
        unknown = sorted(set(a.functions.split(',')) - set(calls))
        if unknown: p.error(f"unknown function(s) {', '.join(unknown)}: choose from {', '.join(calls)}")
        calls = {k: f for k, f in calls.items() if k in a.functions.split(',')}
    results = {}
    for name, f in calls.items():
        results[name] = measure(f)
        print(name, results[name], file=sys.stderr)
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=HERE, capture_output=True, text=True).stdout.strip() or None
    out = {'machine': machine(), 'commit': commit,
           'command': ' '.join(['python bench/history_memory.py', *(argv if argv is not None else sys.argv[1:])]),
           'data': data, 'history_length': 200, 'results': results}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2) + '\n')
    print(f"wrote {a.out}", file=sys.stderr)

if __name__ == '__main__': main()
