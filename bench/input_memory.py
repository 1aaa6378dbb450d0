"""Memory of a model's training input -> bench/results/input_memory.json: a per-row buffer against gathered batches.

    python bench/input_memory.py [--ratings 20000000] [--batch-size 256] [--passes 2]
    python bench/input_memory.py --input windows [--ratings 20000000] [--batch-size 32] --out bench/results/input_memory_windows.json
    python bench/input_memory.py --pipelines shuffled-batches [--batch-size 1024] --out ...   (one pipeline: a package before and after a change)

The ranking model's training columns (user and item int32, rating float32: 12 bytes a rating) of `--ratings` random
rows go through `--passes` passes of two input pipelines, each in a process of its own: `cache().shuffle(n)`
(rating_dataset before it gathered batches) and `shuffled_batches` (recsysmodel.fit, what rating_dataset uses now).
With --input windows, the sequence model's training windows instead (items, targets, gap and rating buckets, int32, 200
positions: about --ratings / 200 + 138,493 windows, each user's events cut into windows of 200 from the end, one
partial window a user), before (`cache().shuffle(n)`) and after (`shuffled_batches`) sequence_dataset changed.
No model: the input alone. Reported per pipeline: the process's peak resident memory above what it held with the
columns alone, and the seconds of each pass. --pipelines runs some of them (comma-separated; `shuffled-batches` alone
skips the 11 GB of `cache().shuffle`), e.g. to time `shuffled_batches` from a copy of the package before a change and
after it.
"""
import argparse, json, subprocess, sys, time
from pathlib import Path
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
PIPELINES = ('cache-shuffle', 'shuffled-batches')

def rss_kib(field:str) -> int:
    "VmRSS or VmHWM of this process, KiB."
    return int(next(l for l in open('/proc/self/status') if l.startswith(field)).split()[1])

def child(kind:str, n:int, batch_size:int, passes:int, windows:bool=False) -> dict:
    import recsysmodel.core  # quiet TensorFlow, Keras 2: before TensorFlow's first import
    import numpy as np, tensorflow as tf
    from recsysmodel.fit import shuffled_batches
    rng = np.random.default_rng(0)
    cols = {'user': rng.integers(0, 138_493, n, dtype=np.int32), 'item': rng.integers(0, 26_744, n, dtype=np.int32),
            'rating': rng.integers(1, 11, n).astype(np.float32) / 2}
    if windows:
        n, L = n // 200 + 138_493, 200
        cols = {k: rng.integers(0, hi, (n, L), dtype=np.int32) for k, hi in (('items', 26_744), ('targets', 26_744), ('gaps', 12), ('ratings', 11))}
    if kind == 'cache-shuffle':
        ds = tf.data.Dataset.from_tensor_slices(cols).cache().shuffle(n, seed=0, reshuffle_each_iteration=True).batch(batch_size).prefetch(tf.data.AUTOTUNE)
    else: ds = shuffled_batches(cols, batch_size, 0)
    base, secs, rows = rss_kib('VmRSS'), [], 0
    for _ in range(passes):
        t = time.perf_counter()
        for b in ds: rows += int(next(iter(b.values())).shape[0])
        secs.append(round(time.perf_counter() - t, 1))
    if rows != n * passes: raise SystemExit(f"{kind}: {rows} rows in {passes} passes of {n}")
    return {'columns_gb': round(sum(v.nbytes for v in cols.values()) / 2**30, 2), 'peak_above_columns_gb': round((rss_kib('VmHWM') - base) / 2**20, 2),
            'seconds_per_pass': secs}

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument('--ratings', type=int, default=20_000_000)
    p.add_argument('--batch-size', type=int, default=256)
    p.add_argument('--passes', type=int, default=2)
    p.add_argument('--out', default=str(HERE/'results'/'input_memory.json'))
    p.add_argument('--input', choices=('ratings', 'windows'), default='ratings', help="the ranking model's ratings, or the sequence model's windows")
    p.add_argument('--pipelines', default=','.join(PIPELINES), help=f"comma-separated, of {', '.join(PIPELINES)} (default: both)")
    p.add_argument('--child', choices=PIPELINES, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    kinds = [k for k in a.pipelines.split(',') if k]
    if not kinds or any(k not in PIPELINES for k in kinds): p.error(f"--pipelines: {a.pipelines!r} is not a comma-separated list of {', '.join(PIPELINES)}")
    if a.child: print(json.dumps(child(a.child, a.ratings, a.batch_size, a.passes, a.input == 'windows'))); return
    rows = {}
    for kind in kinds:
        r = subprocess.run([sys.executable, __file__, '--child', kind, '--ratings', str(a.ratings), '--batch-size', str(a.batch_size),
                            '--passes', str(a.passes), '--input', a.input], capture_output=True, text=True)
        if r.returncode: raise SystemExit(f"{kind} failed:\n{r.stderr[-3000:]}")
        rows[kind] = json.loads(r.stdout.strip().splitlines()[-1])
        print(kind, rows[kind], file=sys.stderr, flush=True)
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=HERE, capture_output=True, text=True).stdout.strip() or None
    from common import machine
    out = {'machine': machine(), 'commit': commit, 'input': a.input, 'ratings': a.ratings, 'batch_size': a.batch_size, 'passes': a.passes,
           'command': 'python bench/input_memory.py ' + ' '.join(argv if argv is not None else sys.argv[1:]), 'pipelines': rows}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2) + '\n')
    print(f"wrote {a.out}", file=sys.stderr)

if __name__ == '__main__': main()
