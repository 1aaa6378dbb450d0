"""Scale benchmark -> bench/results/scale.json: whole training runs at growing sizes, so the growth is visible.

    python bench/scale.py [--sizes 1000000,5000000,20000000] [--epochs 1] [--protocol leave-last-out] [--ml-20m DIR]
                          [--sample-frac 0.05 [--sample-of 20000000]] [--merge EARLIER.json]

For each size, a synthetic dataset shaped like ML-20M (138,493 users and 26,744 items at 20M ratings; users and items
scaled with the number of ratings below that, items at least 2,000) is generated and written as Parquet (ratings with
a rating column, and an item table with titles and genres), then `recsys train --interactions ...` runs on it as a
user would run it on their own log: load, split, train every model for --epochs epochs, evaluate every user, export,
write the run. Each run is its own process, so its peak resident memory is its own (the children's ru_maxrss).
With --ml-20m DIR (a folder holding ml-20m/ or ml-20m.zip), the real ml-20m is run the same way at the end.
With --sample-frac F, one more run: the predecessor's setting, random-80-20 on a share F of the ratings of a
--sample-of-sized log (default ML-20M's 20M; every user and item of it can appear), the run's own protocol.

Every run uses --settings (default: the large-log settings: runs of 16 rows of one user per retrieval batch, 8 in the
earlier runs of bench/results/scale.json; lazy Adam for retrieval and ranking, the sequence model's sampled softmax
and batches of windows of similar length, no refit: the tuning-phase models serve), the sample run --sample-settings
too (lazy Adam for the sequence model, whose windows are short there), the leave-last-out runs --latest-settings too
(retrieval's 'latest' query pools a user's 25 latest items, not 200, in 64 dimensions, not 128: faster, and better on
validation at 20M, bench/results/retrieval_batch_history.json); each run's row of the JSON records its settings.
Reported per size: wall seconds of the run, the run's own step timings, retrieval training ratings/s and sequence
training events/s (the tuning phase's training rows x epochs / the epochs' training seconds, validation excluded),
evaluation seconds (the steps', and per row of the metrics table: its seconds and, of those, scoring every test user;
the target is read on the slowest row's scoring), peak RSS, the metrics table and the served model with the validation
figures it was chosen on, the processor's model name, vector instructions and BLAS kernels (the sequence model's 20M
figures differ between Intel and AMD machines with the same code, EASE's between two machines both named AMD EPYC);
and a plot (bench/results/scale.png) of seconds and peak memory against ratings. Targets (issue 19): retrieval >=
50,000 ratings/s, evaluation of 138k users under leave-last-out <= 5 min, peak RSS <= 12 GB, the whole run <= 2 h.
"""
import argparse, json, os, subprocess, sys, tempfile, time
from pathlib import Path
import recsysmodel.core  # quiet TensorFlow, Keras 2: before TensorFlow's first import
import numpy as np
import pandas as pd
from recsysmodel.data import synthetic_movielens

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import machine  # noqa: E402

ML20M = {'ratings': 20_000_263, 'users': 138_493, 'items': 26_744}
LARGE = ('--retrieval-rows-per-user 16 --retrieval-optimizer lazy-adam --ranking-optimizer lazy-adam --sequence-loss sampled '
         '--sequence-length-buckets --no-refit')
SHORT = '--sequence-optimizer lazy-adam'  # and for short histories (the sample): a step of short windows touches few item rows
LATEST = '--retrieval-history-length 25 --retrieval-dim 64'  # and for the 'latest' query (leave-last-out runs): chosen on validation at 20M
TARGETS = {'retrieval_ratings_per_s': 50_000, 'evaluation_s_138k_users_loo': 300, 'peak_rss_gb': 12, 'run_s': 7200}

def shape(n_ratings:int) -> dict:
    "Users and items of a dataset shaped like ML-20M with `n_ratings` ratings."
    f = n_ratings / ML20M['ratings']
    return {'n_users': max(100, int(ML20M['users'] * f)), 'n_items': max(2_000, int(ML20M['items'] * min(1.0, f ** 0.5))),
            'n_ratings': n_ratings}

def write_dataset(n_ratings:int, folder:Path) -> dict:
    "A synthetic dataset of `n_ratings` written as ratings.parquet and items.parquet; returns its shape and the seconds."
    t = time.perf_counter()
    ds = synthetic_movielens(**shape(n_ratings), seed=0)
    ds.ratings.to_parquet(folder/'ratings.parquet', index=False)
    ds.items[['item_id', 'title', 'genres']].to_parquet(folder/'items.parquet', index=False)
    return {'users': int(ds.ratings.user_id.nunique()), 'items': len(ds.items), 'ratings': len(ds.ratings),
            'generate_and_write_s': round(time.perf_counter() - t, 1)}

def run(args:list, out_dir:Path, progress:bool=False) -> dict:
    "One `recsys train` process: its wall time, its own peak RSS (wait4) and the run's manifest; with `progress` its bars go to its train.log."
    out_dir.mkdir(parents=True, exist_ok=True)
    log = out_dir/'train.log'
    t = time.perf_counter()
    with open(log, 'w') as f:
        proc = subprocess.Popen([str(Path(sys.executable).parent/'recsys'), 'train', *args, '--out-dir', str(out_dir), '--no-track', *([] if progress else ['--quiet'])],
                                stdout=f, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status): raise SystemExit(f"recsys train failed:\n{log.read_text()[-3000:]}")
    peak = usage.ru_maxrss  # KiB, this child's own
    run_dir = out_dir/(out_dir/'latest').read_text().strip()
    m = json.loads((run_dir/'manifest.json').read_text())
    tm, split = m['timings'], m['split']
    epochs = {k: len(v) for k, v in m['history'].items()}
    out = {'wall_s': round(wall, 1), 'timings': tm, 'peak_rss_gb': round(peak / 2**20, 2),
           'epochs_run': epochs, 'split': split, 'metrics': m['metrics'], 'run_id': m['run_id'],
           'served': {k: m['served'].get(k) for k in ('model', 'chosen_on', 'validation')}}
    fit_rows = split['train'] - split['valid']  # what the tuning phase trains on; its epochs' seconds exclude validation
    for model, unit in (('retrieval', 'ratings'), ('sequence', 'events')):
        if model in m['history']:
            secs = sum(r['seconds'] for r in m['history'][model])
            out[f'{model}_{unit}_per_s'] = round(fit_rows * len(m['history'][model]) / secs)
    out['evaluation_s'] = round(sum(v for k, v in tm.items() if k.startswith('evaluate')), 1)
    rep = json.loads((run_dir/'evaluation'/'report.json').read_text())
    # per row of the metrics table: its seconds (a baseline's tuning and fits included) and, of those, scoring every test user
    out['evaluation_rows'] = {k: {'s': round(v, 1), 'scoring_s': round(rep['scoring'][k], 1)} for k, v in rep['timings'].items()}
    out['evaluation_scoring_max_s'] = max(r['scoring_s'] for r in out['evaluation_rows'].values())
    return out

def plot(rows:list, path:Path):
    "Seconds and peak memory against ratings, of the whole-log runs (a --sample-frac run is not on the curve; of runs of one size, the last)."
    rows = list({r['dataset']['ratings']: r for r in rows if 'sample_frac' not in r}.values())
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    n = [r['dataset']['ratings'] / 1e6 for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.5))
    a.plot(n, [r['wall_s'] / 60 for r in rows], 'o-', label='whole run')
    a.plot(n, [r['evaluation_s'] / 60 for r in rows], 's--', label='evaluation')
    a.set_xlabel('ratings (millions)'); a.set_ylabel('minutes'); a.legend(); a.set_title('time (2 cores)')
    b.plot(n, [r['peak_rss_gb'] for r in rows], 'o-'); b.axhline(TARGETS['peak_rss_gb'], ls=':', c='grey')
    b.set_xlabel('ratings (millions)'); b.set_ylabel('GB'); b.set_title('peak resident memory')
    fig.tight_layout(); fig.savefig(path, dpi=100); plt.close(fig)

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument('--sizes', default='1000000,5000000,20000000', help='ratings per run, comma-separated')
    p.add_argument('--epochs', type=int, default=1)
    p.add_argument('--protocol', default='leave-last-out')
    p.add_argument('--ml-20m', metavar='DIR', help='also run the real ml-20m from this folder (ml-20m/ or ml-20m.zip)')
    p.add_argument('--sample-frac', type=float, metavar='F', help='also run random-80-20 on this share of the ratings of a --sample-of log')
    p.add_argument('--sample-of', type=int, default=ML20M['ratings'], metavar='N', help='ratings of the log --sample-frac samples (default: ML-20M size)')
    p.add_argument('--settings', default=LARGE, help=f"recsys train flags for every run (default: the large-log settings, {LARGE!r})")
    p.add_argument('--sample-settings', default=SHORT, help=f"more flags for the --sample-frac run (default: {SHORT!r})")
    p.add_argument('--latest-settings', default=LATEST, help=f"more flags for the leave-last-out runs, whose retrieval query is 'latest' (default: {LATEST!r})")
    p.add_argument('--progress', action='store_true', help="keep each run's progress bars in its train.log (printed with the run folder) to follow a long run")
    p.add_argument('--out', default=str(HERE/'results'/'scale.json'))
    p.add_argument('--merge', metavar='JSON', help="keep the runs of an earlier result (same epochs and protocol; each run keeps its own settings) beside these, ordered by size")
    a = p.parse_args(argv)
    latest = a.protocol == 'leave-last-out'
    common = ['--protocol', a.protocol, '--epochs', str(a.epochs)] + (['--query', 'latest', '--index', 'scann'] if latest else [])
    settings = ' '.join([a.settings, a.latest_settings if latest else '']).strip()  # what every run but the sample's is given
    common += settings.split()
    rows = []
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=HERE, capture_output=True, text=True).stdout.strip() or None
    with tempfile.TemporaryDirectory(prefix='recsys-scale-') as tmp:
        for size in [int(s) for s in a.sizes.split(',') if s]:
            folder = Path(tmp)/f"n{size}"; folder.mkdir()
            print(f"{size:,} ratings: generating...", file=sys.stderr)
            data = write_dataset(size, folder)
            print(f"{size:,} ratings: training run... (log: {folder/'runs'/'train.log'})", file=sys.stderr)
            r = run(['--interactions', str(folder/'ratings.parquet'), '--items', str(folder/'items.parquet'), '--rating-col', 'rating',
                     '--user-col', 'user_id', '--item-col', 'item_id', '--time-col', 'timestamp', *common], folder/'runs', a.progress)
            rows.append({'dataset': {'kind': 'synthetic, ML-20M-shaped', **data}, 'commit': commit, 'settings': settings, **r})
            print(json.dumps({k: rows[-1][k] for k in ('wall_s', 'peak_rss_gb', 'evaluation_s', 'evaluation_scoring_max_s')}), file=sys.stderr)
        if a.sample_frac:
            folder = Path(tmp)/f"sample{a.sample_of}"; folder.mkdir()
            print(f"{a.sample_of:,} ratings: generating, then random-80-20 on {a.sample_frac:.0%} of them...", file=sys.stderr)
            data = write_dataset(a.sample_of, folder)
            r = run(['--interactions', str(folder/'ratings.parquet'), '--items', str(folder/'items.parquet'), '--rating-col', 'rating',
                     '--user-col', 'user_id', '--item-col', 'item_id', '--time-col', 'timestamp', '--protocol', 'random-80-20',
                     '--sample-frac', str(a.sample_frac), '--epochs', str(a.epochs), *a.settings.split(), *a.sample_settings.split()], folder/'runs', a.progress)
            rows.append({'dataset': {'kind': 'synthetic, ML-20M-shaped', **data}, 'protocol': 'random-80-20', 'sample_frac': a.sample_frac, 'commit': commit,
                         'settings': ' '.join([a.settings, a.sample_settings]).strip(), **r})
            print(json.dumps({k: rows[-1][k] for k in ('wall_s', 'peak_rss_gb', 'evaluation_s', 'evaluation_scoring_max_s')}), file=sys.stderr)
        if a.ml_20m:
            print("ml-20m: training run...", file=sys.stderr)
            r = run(['--dataset', 'ml-20m', '--data-dir', a.ml_20m, '--no-download', *common], Path(tmp)/'ml20m', a.progress)
            rows.append({'dataset': {'kind': 'ml-20m', **ML20M}, 'commit': commit, 'settings': settings, **r})
    here = machine()  # read once: every run of this call ran on it
    rows = [{'cpu': here['cpu'], 'cpu_flags': here['cpu_flags'], 'blas': here['blas'], **r} for r in rows]  # each run keeps its own settings (--merge may add earlier ones)
    commands = ['python bench/scale.py ' + ' '.join(argv if argv is not None else sys.argv[1:])]
    if a.merge:
        old = json.loads(Path(a.merge).read_text())
        same = {k: old.get(k) for k in ('epochs', 'protocol')} == {'epochs': a.epochs, 'protocol': a.protocol}
        if not same: raise SystemExit(f"{a.merge} was run with other epochs or protocol: not merged")
        commands = old.get('commands', [old.get('command')]) + commands
        rows = sorted([{'commit': old.get('commit'), 'settings': old.get('settings'), **r} for r in old['runs']] + rows, key=lambda r: ('sample_frac' in r, r['dataset']['kind'] != 'synthetic, ML-20M-shaped', r['dataset']['ratings']))
    out = {'machine': here, 'commit': commit, 'epochs': a.epochs, 'protocol': a.protocol, 'settings': a.settings,  # this call's; each run has its own
           'commands': commands, 'targets': TARGETS, 'runs': rows,
           'ml_20m': 'run' if a.ml_20m else 'not run: no --ml-20m folder given'}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2))
    plot(rows, Path(a.out).with_suffix('.png'))
    print(f"wrote {a.out} and {Path(a.out).with_suffix('.png')}", file=sys.stderr)

if __name__ == '__main__': main()
