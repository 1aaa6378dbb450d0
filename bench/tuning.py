"""Tuning benchmark -> bench/results/tuning.json: EASE's penalty chosen on all validation users, and on a sample of them.

    python bench/tuning.py [--ratings 5000000] [--tune-users 20000] [--out bench/results/tuning.json]

A synthetic log shaped like ML-20M (bench/scale.py's shapes) is split leave-last-out as a run splits it; then
`evaluate` runs EASE with its grid (five penalties, walked from the middle: three or four of them fitted on the
tuning part and judged by HR@10 on the validation answers, then the chosen one refitted and scored on the test
set) twice: judged on every validation user (`tune_users=None`), and on at most --tune-users of them (the default
of `evaluate`). Reported for each: the seconds, the penalty chosen, and the test figures. Both read the test set
once each; the choice is made on validation.
"""
import argparse, json, os, platform, sys, time
from pathlib import Path
import recsysmodel.core  # quiet TensorFlow, Keras 2: before TensorFlow's first import
from recsysmodel.data import prepare, synthetic_movielens
from recsysmodel.evaluation import BASELINES, evaluate

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from scale import shape  # noqa: E402  the same ML-20M shapes as the whole-run benchmark

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument('--ratings', type=int, default=5_000_000, help='ratings of the synthetic log (default 5M: two tunings fit in 10 minutes on 2 cores)')
    p.add_argument('--tune-users', type=int, default=20_000, help='validation users of the sampled tuning')
    p.add_argument('--out', default=str(HERE/'results'/'tuning.json'))
    a = p.parse_args(argv)
    t = time.perf_counter()
    ds = synthetic_movielens(**shape(a.ratings), seed=0)
    data = prepare(ds, 'leave-last-out')
    out = {'machine': {'cpus': os.cpu_count(), 'python': platform.python_version()},
           'command': 'python bench/tuning.py ' + ' '.join(sys.argv[1:] if argv is None else argv),
           'data': {'kind': 'synthetic, ML-20M-shaped', 'ratings': len(ds.ratings), 'validation_users': int(data.valid.user_idx.nunique()),
                    'items': data.n_items, 'protocol': 'leave-last-out', 'generate_and_split_s': round(time.perf_counter() - t, 1)},
           'grid': BASELINES['ease'].grid, 'runs': {}}
    for label, users in (('all validation users', None), (f"{a.tune_users} validation users", a.tune_users)):
        print(f"EASE tuned on {label}...", file=sys.stderr)
        t = time.perf_counter()
        rep = evaluate(ds, 'leave-last-out', {'ease': BASELINES['ease']}, ks=(10,), progress=False, data=data, tune_users=users)
        out['runs'][label] = {'tune_users': users, 'seconds': round(time.perf_counter() - t, 1), 'chosen': rep.params['ease'],
                              **{k: round(v, 4) for k, v in rep.metrics['ease'].items() if k in ('hr@10', 'ndcg@10')}}
        print(json.dumps(out['runs'][label]), file=sys.stderr)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2))
    print(f"wrote {a.out}", file=sys.stderr)

if __name__ == '__main__': main()
