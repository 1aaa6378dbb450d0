"""How many of a user's latest items the retrieval query should pool -> bench/results/history_length.json.

    python bench/history_length.py [--data-dir ../shared/data] [--lengths 25,50,200] [--seeds 42,7]

ml-latest-small (from --data-dir; synthetic data of its size where it is absent, and the JSON says so) split
leave-last-out, the two-tower model trained with the `'latest'` query and the run's defaults (one row at a time, Adam,
early stopping on validation within 40 epochs) for each history length of --lengths (`RetrievalConfig.history_length`,
the run parameter `retrieval_history_length`; 200 is the default) and each model seed of --seeds. Reported per run:
the best epoch and its validation hr@10 and hr@100 on every validation user (the epoch early stopping keeps); the
test set is not read. bench/retrieval_batch.py compares lengths at 20M ratings (a fifth field of --grid).
"""
import argparse, json, os, sys, time
from pathlib import Path
import recsysmodel.core  # quiet TensorFlow, Keras 2: before TensorFlow's first import
import tensorflow as tf
from recsysmodel.data import prepare
from recsysmodel.retrieval import RetrievalConfig, train_retrieval

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import machine, small_movielens  # noqa: E402

def ints(text:str, what:str) -> list:
    try: out = [int(x) for x in text.split(',') if x.strip()]
    except ValueError: out = []
    if not out: raise SystemExit(f"--{what}: {text!r} is not a comma-separated list of whole numbers")
    return out

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument('--data-dir', default=str(HERE.parent.parent/'shared'/'data'), help='folder holding ml-latest-small/ or its zip')
    p.add_argument('--lengths', default='25,50,200', help='history lengths, comma-separated (each at least the query\'s 5 latest items)')
    p.add_argument('--seeds', default='42,7', help="the models' seeds, comma-separated (the split stays the run's)")
    p.add_argument('--out', default=str(HERE/'results'/'history_length.json'))
    a = p.parse_args(argv)
    lengths, seeds = ints(a.lengths, 'lengths'), ints(a.seeds, 'seeds')
    if min(lengths) < 5: p.error(f"--lengths: each must be at least 5 (the query's latest items), got {min(lengths)}")
    ds, source = small_movielens(a.data_dir)
    data = prepare(ds, 'leave-last-out')
    out = {'commit': os.popen('git rev-parse --short HEAD').read().strip(), 'machine': machine(),
           'command': 'python bench/history_length.py ' + ' '.join(sys.argv[1:] if argv is None else argv),
           'data': {'source': source, 'protocol': 'leave-last-out', 'users': data.n_users, 'items': data.n_items,
                    'fit_part': len(data.fit_part), 'valid': len(data.valid)},
           'settings': "query 'latest', the run's defaults otherwise (Adam, rows one by one, early stopping, tune_users: all)", 'runs': []}
    for seed in seeds:
        for length in lengths:
            t = time.perf_counter()
            cfg = RetrievalConfig(query='latest', history_length=length, seed=seed, refit=False, tune_users=None)
            ret, hist = train_retrieval(data, ds.items, cfg, progress=False)
            best = max(hist, key=lambda h: h['valid_hr@10'])
            out['runs'].append({'seed': seed, 'history_length': length, 'best_epoch': int(best['epoch']), 'epochs_run': len(hist),
                                'valid_hr@10': round(best['valid_hr@10'], 4), 'valid_hr@100': round(best['valid_hr@100'], 4),
                                'seconds': round(time.perf_counter() - t, 1)})
            print(json.dumps(out['runs'][-1]), file=sys.stderr, flush=True)
            tf.keras.backend.clear_session()
    out['mean_by_length'] = {str(n): {k: round(sum(r[k] for r in out['runs'] if r['history_length'] == n) / len(seeds), 4)
                                      for k in ('valid_hr@10', 'valid_hr@100')} for n in lengths}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1) + '\n')
    print(f"wrote {a.out}", file=sys.stderr)

if __name__ == '__main__': main()
