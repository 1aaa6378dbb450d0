"""Sequence model benchmark -> bench/results/sequence.json.

    python bench/sequence.py [--data-dir ../shared/data] [--users-20m 20000] [--steps 30] [--repeats 500]

1. Training throughput (next-item targets per second, one epoch after a warm-up epoch, the default configuration:
   full softmax, 2 blocks, dim 64, batches of 32 windows of max_len positions) on ml-latest-small under
   leave-last-out (its tuning part), from --data-dir, or synthetic data of its size when absent (the JSON says which).
2. The same at ml-20m scale: a synthetic 20M-rating dataset shaped like ml-20m (138,493 users, 26,744 items) is
   generated, and --steps training steps run on the windows of a random sample of --users-20m users (the catalogue is
   the whole 26,744 items, so the output layer costs what it would on the full data; the sample only bounds memory).
3. Serving: the exported SavedModel's `serving_default` for one 200-item history (p50/p99 over --repeats calls after
   warm-up, target p50 <= 5 ms on 2 cores), and batch throughput (histories/s, batches of 256).
4. Peak resident memory of the process (VmHWM).
"""
import argparse, json, os, platform, sys, tempfile, time
from pathlib import Path
import recsysmodel.core  # quiet TensorFlow, Keras 2: before TensorFlow's first import
from common import small_movielens
import numpy as np
import tensorflow as tf
from recsysmodel.data import prepare, synthetic_movielens
from recsysmodel.sequence import SequenceConfig, Sequence, build_sasrec, export_sequence, sequence_dataset, training_windows

HERE = Path(__file__).resolve().parent

def peak_rss_mb() -> float:
    return int([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]) / 1024

def throughput(data, items, cfg, df, steps=None) -> dict:
    "Targets per second of one epoch (or `steps` batches) after a warm-up pass."
    m, _ = build_sasrec(cfg, data, items, df)
    ds = sequence_dataset(cfg, df, data.n_items)
    targets = int((training_windows(df, data.n_items, cfg.max_len)['targets'] != data.n_items).sum())
    n_batches = int(ds.cardinality())
    if steps: ds, share = ds.take(steps), min(1.0, steps / n_batches)
    else: share = 1.0
    m.fit(ds.take(3), verbose=0)  # warm-up (tracing)
    t = time.perf_counter(); m.fit(ds, verbose=0); secs = time.perf_counter() - t
    return {'targets_per_s': round(targets * share / secs, 1), 'seconds': round(secs, 2), 'batches': min(steps or n_batches, n_batches),
            'windows': int(n_batches * cfg.batch_size), 'targets': targets}, m

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument('--data-dir', default=os.environ.get('RECSYS_DATA_DIR', str(HERE.parent.parent/'shared'/'data')))
    p.add_argument('--users-20m', type=int, default=20_000, help='users sampled from the 20M-rating synthetic set')
    p.add_argument('--steps', type=int, default=30, help='training steps measured at 20M scale')
    p.add_argument('--repeats', type=int, default=500)
    p.add_argument('--out', default=str(HERE/'results'/'sequence.json'))
    a = p.parse_args(argv)
    ds, where = small_movielens(a.data_dir)
    data = prepare(ds, 'leave-last-out')
    cfg = SequenceConfig().resolved(data.train, data.n_items)
    print('training throughput on', where, file=sys.stderr)
    small, model = throughput(data, ds.items, cfg, data.fit_part)
    seq = Sequence(model, data.enc, data.train, cfg)
    print('serving latency...', file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        f = tf.saved_model.load(str(export_sequence(seq, Path(tmp)/'sequence', k=10))).signatures['serving_default']
        rng = np.random.default_rng(0)
        hist = [tf.constant(rng.choice(data.enc.item_ids, 200, replace=False)[None].astype(np.int64)) for _ in range(64)]
        for h in hist[:10]: f(item_ids=h)
        ts = []
        for i in range(a.repeats):
            t = time.perf_counter(); f(item_ids=hist[i % len(hist)]); ts.append((time.perf_counter() - t) * 1e3)
        batch = tf.constant(rng.choice(data.enc.item_ids, (256, 200)).astype(np.int64))
        f(item_ids=batch); t = time.perf_counter()
        for _ in range(5): f(item_ids=batch)
        batch_rate = 5 * 256 / (time.perf_counter() - t)
    latency = {'p50_ms': round(float(np.percentile(ts, 50)), 3), 'p99_ms': round(float(np.percentile(ts, 99)), 3), 'calls': a.repeats,
               'history_length': 200, 'target_p50_ms': 5.0}
    print('20M-rating synthetic set...', file=sys.stderr)
    t = time.perf_counter()
    big = synthetic_movielens(n_users=138_493, n_items=26_744, n_ratings=20_000_263, seed=0)
    gen_s = time.perf_counter() - t
    keep = np.random.default_rng(0).choice(big.ratings.user_id.unique(), a.users_20m, replace=False)
    sample = big.ratings[big.ratings.user_id.isin(keep)]
    big.ratings = sample
    bdata = prepare(big, 'leave-last-out')
    bcfg = SequenceConfig().resolved(bdata.train, bdata.n_items)
    large, _ = throughput(bdata, big.items, bcfg, bdata.fit_part, steps=a.steps)
    res = {'benchmark': 'sequence', 'command': 'python bench/sequence.py ' + ' '.join(argv if argv is not None else sys.argv[1:]),
           'machine': {'cpus': os.cpu_count(), 'python': platform.python_version(), 'tensorflow': tf.__version__},
           'config': {k: getattr(cfg, k) for k in ('max_len', 'dim', 'blocks', 'heads', 'loss', 'batch_size')},
           'training_ml_latest_small': {'data': where, **small},
           'training_20m_scale': {'data': f"synthetic_movielens(138493 users, 26744 items, 20,000,263 ratings, seed=0), {a.users_20m:,} users "
                                          f"sampled ({len(sample):,} ratings); {a.steps} steps", 'generation_seconds': round(gen_s, 1),
                                  'catalogue': bdata.n_items, 'max_len': bcfg.max_len, 'loss': bcfg.loss, **large},
           'serving_one_history': latency, 'serving_batch_histories_per_s': round(batch_rate, 1),
           'peak_rss_mb': round(peak_rss_mb())}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=2) + '\n')
    print(json.dumps(res, indent=2))

if __name__ == '__main__': main()
