"""Ranking batch size benchmark -> bench/results/ranking_batch.json: training speed and validation RMSE per batch size.

    python bench/ranking_batch.py [--ratings 2000000] [--epochs 1] [--grid 256:0.001,1024:0.001,1024:0.002,4096:0.002,4096:0.004]

At 20M ratings the ranking model's one epoch at batch 256 is the longest step of a training run (25 minutes on 2
cores). This trains it as a large-log run does (leave-last-out split of a synthetic ML-20M-shaped log of --ratings,
bench/scale.py's shapes; lazy Adam, no refit) for each batch size:learning rate of --grid, and reports the training
ratings/s (the tuning part's ratings x epochs / the epochs' training seconds, validation excluded) and the validation
RMSE after each epoch. The choice is made on validation; the test set is not read.
"""
import argparse, json, os, platform, sys, time
from pathlib import Path
import recsysmodel.core  # quiet TensorFlow, Keras 2: before TensorFlow's first import
from recsysmodel.data import prepare, synthetic_movielens
from recsysmodel.ranking import RankingConfig, train_ranking

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from scale import shape  # noqa: E402  the same ML-20M shapes as the whole-run benchmark

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument('--ratings', type=int, default=2_000_000, help='ratings of the synthetic log')
    p.add_argument('--epochs', type=int, default=1, help='epochs per setting (a scale run trains 1)')
    p.add_argument('--grid', default='256:0.001,1024:0.001,1024:0.002,4096:0.002,4096:0.004', help='batch_size:learning_rate settings, comma-separated')
    p.add_argument('--out', default=str(HERE/'results'/'ranking_batch.json'))
    a = p.parse_args(argv)
    grid = [(int(b), float(lr)) for b, lr in (g.split(':') for g in a.grid.split(','))]
    t = time.perf_counter()
    ds = synthetic_movielens(**shape(a.ratings), seed=0)
    data = prepare(ds, 'leave-last-out')
    out = {'machine': {'cpus': os.cpu_count(), 'python': platform.python_version()},
           'command': 'python bench/ranking_batch.py ' + ' '.join(sys.argv[1:] if argv is None else argv),
           'data': {'kind': 'synthetic, ML-20M-shaped', 'ratings': len(ds.ratings), 'users': data.n_users, 'items': data.n_items,
                    'protocol': 'leave-last-out', 'fit_part': len(data.fit_part), 'valid': len(data.valid),
                    'generate_and_split_s': round(time.perf_counter() - t, 1)},
           'settings': 'lazy-adam, no refit (the large-log settings)', 'runs': []}
    for batch, lr in grid:
        print(f"batch {batch}, learning rate {lr}...", file=sys.stderr)
        _, hist = train_ranking(data, ds.items, RankingConfig(batch_size=batch, learning_rate=lr, optimizer='lazy-adam', refit=False,
                                                              epochs=a.epochs, patience=a.epochs), progress=False)
        secs = sum(h['seconds'] for h in hist)
        out['runs'].append({'batch_size': batch, 'learning_rate': lr, 'train_s': round(secs, 1),
                            'ratings_per_s': round(len(data.fit_part) * len(hist) / secs),
                            'valid_rmse': [round(h['valid_rmse'], 4) for h in hist]})
        print(json.dumps(out['runs'][-1]), file=sys.stderr)
    best = min(out['runs'], key=lambda r: r['valid_rmse'][-1])
    out['best_on_validation'] = {k: best[k] for k in ('batch_size', 'learning_rate')}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2))
    print(f"wrote {a.out}", file=sys.stderr)

if __name__ == '__main__': main()
