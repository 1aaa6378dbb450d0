"""Sequence batches by length -> bench/results/sequence_buckets.json: one epoch with and without `length_buckets`.

    python bench/sequence_buckets.py [--sample-frac 0.05 | --ratings 5000000] [--setups A,B] [--out bench/results/sequence_buckets.json]

A synthetic log shaped like ML-20M (bench/scale.py's shapes) is split as bench/scale.py's runs split it: with
--sample-frac F, random-80-20 on a share F of a 20M-rating log (the predecessor's setting); else leave-last-out on
--ratings. The sequence model trains one epoch on the tuning part with the large-log settings (sampled softmax, no
refit), once with whole windows in random batches and once with `length_buckets` (batches of windows of similar
length, each cut to its longest), and with those and lazy Adam (the sample's setting), all from the same seed (--setups
picks some). Reported for each: the epoch's seconds, next-item targets a second, the windows' width
actually computed (the share of positions that hold a target), and the validation figures that early stopping reads
(HR@10, NDCG@10 on at most 20,000 users: `tune_users`). Read on validation only.
"""
import argparse, json, os, platform, subprocess, sys, time
from pathlib import Path
import recsysmodel.core  # quiet TensorFlow, Keras 2: before TensorFlow's first import
import numpy as np
from recsysmodel.data import prepare, synthetic_movielens
from recsysmodel.sequence import SequenceConfig, train_sequence, training_windows

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from scale import ML20M, shape  # noqa: E402  the same ML-20M shapes as the whole-run benchmark

SETUPS = {'whole windows': (False, 'adam'), 'length buckets': (True, 'adam'), 'length buckets + lazy-adam': (True, 'lazy-adam')}

def padding(cfg:SequenceConfig, df, n_items:int) -> dict:
    "The share of the positions computed that hold a target, with whole windows and with batches cut to their longest."
    from recsysmodel.sequence import length_order
    lengths = (training_windows(df, n_items, cfg.max_len)['targets'] != n_items).sum(1)
    o, b = length_order(lengths, cfg.batch_size, np.random.default_rng(0)), cfg.batch_size
    cut = sum(int(lengths[o[s:s + b]].max()) * len(o[s:s + b]) for s in range(0, len(o), b))
    return {'windows': len(lengths), 'targets': int(lengths.sum()), 'max_len': cfg.max_len,
            'filled_whole': round(float(lengths.sum() / (len(lengths) * cfg.max_len)), 3), 'filled_cut': round(float(lengths.sum() / cut), 3)}

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument('--sample-frac', type=float, help='random-80-20 on this share of a 20M-rating log (the predecessor setting)')
    p.add_argument('--ratings', type=int, default=5_000_000, help='leave-last-out on a log of this many ratings (without --sample-frac)')
    p.add_argument('--setups', default=','.join(SETUPS), help=f"comma-separated, of: {', '.join(SETUPS)}")
    p.add_argument('--out', default=str(HERE/'results'/'sequence_buckets.json'))
    a = p.parse_args(argv)
    if not a.setups or set(a.setups.split(',')) - set(SETUPS): p.error(f"--setups takes some of: {', '.join(SETUPS)}")
    t = time.perf_counter()
    n = ML20M['ratings'] if a.sample_frac else a.ratings
    ds = synthetic_movielens(**shape(n), seed=0)
    data = prepare(ds, 'random-80-20', a.sample_frac, 42) if a.sample_frac else prepare(ds, 'leave-last-out')
    base = SequenceConfig(loss='sampled', refit=False, epochs=1).resolved(data.train, data.n_items)
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=HERE, capture_output=True, text=True).stdout.strip() or None
    out = {'machine': {'cpus': os.cpu_count(), 'python': platform.python_version()}, 'commit': commit,
           'command': 'python bench/sequence_buckets.py ' + ' '.join(sys.argv[1:] if argv is None else argv),
           'data': {'kind': 'synthetic, ML-20M-shaped', 'ratings': len(ds.ratings), 'protocol': data.protocol, 'sample_frac': a.sample_frac,
                    'tuning_part': len(data.fit_part), 'validation_users': int(data.valid.user_idx.nunique()),
                    'generate_and_split_s': round(time.perf_counter() - t, 1)},
           'windows': padding(base, data.fit_part, data.n_items), 'runs': {}}
    print(json.dumps(out['windows']), file=sys.stderr)
    for label in a.setups.split(','):
        buckets, optimizer = SETUPS[label]
        t = time.perf_counter()
        fitted, history = train_sequence(data, ds.items, base, progress=False, length_buckets=buckets, optimizer=optimizer)
        h = history[-1]
        out['runs'][label] = {'length_buckets': buckets, 'optimizer': optimizer, 'epoch_s': round(h['seconds'], 1), 'targets_per_s': round(out['windows']['targets'] / h['seconds']),
                              'valid_hr@10': round(h['valid_hr@10'], 5), 'valid_ndcg@10': round(h['valid_ndcg@10'], 5),
                              'loss': round(h['loss'], 4), 'train_and_validate_s': round(time.perf_counter() - t, 1)}
        print(label, json.dumps(out['runs'][label]), file=sys.stderr)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2) + '\n')
    print(f"wrote {a.out}", file=sys.stderr)

if __name__ == '__main__': main()
