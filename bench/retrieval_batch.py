"""Retrieval product size benchmark -> bench/results/retrieval_batch.json: training speed and validation hit rate per
batch size, embedding size and run length.

    python bench/retrieval_batch.py [--ratings 20000000] [--epochs 1] [--sample-frac F] [--seed 42]
                                    [--grid 1024:128:0.003,512:128:0.003,1024:64:0.003,512:64:0.003]  # b:d:lr[:rows[:history]]

At 3M ratings what is left of a retrieval step under the large-log settings is mostly the in-batch product and its
softmax (bench/retrieval_loss.py); at 20M about half of it is the pooled histories' gradient and the lazy update of the
embedding tables (bench/retrieval_step.py --profile, the Scaling page). A faster step then needs a smaller product
(fewer in-batch negatives, a smaller embedding) or less history pooled per batch (longer runs of one user's rows,
fewer items per history). Each changes the model, so it is chosen on validation.
This trains the two-tower model as a large-log run does (leave-last-out split of a synthetic ML-20M-shaped log of
--ratings, bench/scale.py's shapes; the `'latest'` query, as bench/scale.py trains leave-last-out; runs of one user's
rows per batch, lazy Adam, no refit) for each batch_size:dim:learning_rate[:rows_per_user[:history_length]] of --grid
(rows_per_user 8 where it is left out: the large-log setting of this script's earlier runs; 16 since; history_length,
the items pooled per user, the query's default where left out: 200 for 'latest'), and reports the training
ratings/s (the tuning part's ratings x epochs / the epochs' training seconds, validation excluded) and the validation
hr@10 and hr@100 after each epoch. The test set is not read. `best_on_validation` is the setting with the highest
last-epoch validation hr@10.
With --sample-frac F, the log is split as bench/scale.py's sample run splits it instead: random-80-20 on a share F
of its ratings, the default `'gap-mixture'` query. --seed is the models' seed (their initial weights and batch order; the
log and its split stay the same): another seed shows how far validation moves with the draw alone.
"""
import argparse, gc, json, os, platform, sys, time
from pathlib import Path
import recsysmodel.core  # quiet TensorFlow, Keras 2: before TensorFlow's first import
import tensorflow as tf
from recsysmodel.data import prepare, synthetic_movielens
from recsysmodel.retrieval import RetrievalConfig, train_retrieval

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from scale import shape  # noqa: E402  the same ML-20M shapes as the whole-run benchmark

def parse_grid(text:str) -> list:
    "batch_size:dim:learning_rate[:rows_per_user[:history_length]] settings, comma-separated -> [(batch, dim, lr, rows, history), ...] (rows 8, history None if left out); a SystemExit naming a bad one."
    out = []
    for g in text.split(','):
        parts = g.split(':')
        try: out.append((int(parts[0]), int(parts[1]), float(parts[2]), int(parts[3]) if len(parts) >= 4 else 8,
                         int(parts[4]) if len(parts) == 5 else None) if 3 <= len(parts) <= 5 else None)
        except ValueError: out.append(None)
        if out[-1] is None or min(out[-1][0], out[-1][1], out[-1][3]) < 1 or out[-1][3] > out[-1][0] or (out[-1][4] is not None and out[-1][4] < 5):
            raise SystemExit(f"--grid: {g!r} is not batch_size:dim:learning_rate[:rows_per_user[:history_length]] with 1 <= rows_per_user <= batch_size "
                             "and history_length >= 5 (e.g. 512:64:0.003, 1024:128:0.003:16 or 1024:128:0.003:16:50)")
    return out

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument('--ratings', type=int, default=20_000_000, help='ratings of the synthetic log (default: ML-20M size)')
    p.add_argument('--epochs', type=int, default=1, help='epochs per setting (a scale run trains 1)')
    p.add_argument('--sample-frac', type=float, metavar='F', help="random-80-20 on this share of the ratings, the 'gap-mixture' query (bench/scale.py's sample run)")
    p.add_argument('--seed', type=int, default=42, help="the models' seed (default 42, a run's); the data do not change with it")
    p.add_argument('--grid', default='1024:128:0.003,512:128:0.003,1024:64:0.003,512:64:0.003',
                   help='batch_size:dim:learning_rate[:rows_per_user[:history_length]] settings, comma-separated (rows_per_user 8 if left out, '
                        "history_length the query's default, 200 for 'latest'; default: the run default first)")
    p.add_argument('--out', default=str(HERE/'results'/'retrieval_batch.json'))
    a = p.parse_args(argv)
    grid = parse_grid(a.grid)
    if a.sample_frac is not None and not 0 < a.sample_frac <= 1: p.error(f"--sample-frac must be in (0, 1], got {a.sample_frac}")
    t = time.perf_counter()
    ds = synthetic_movielens(**shape(a.ratings), seed=0)
    protocol, query = ('random-80-20', 'gap-mixture') if a.sample_frac else ('leave-last-out', 'latest')
    data = prepare(ds, protocol, a.sample_frac or 1.0)
    out = {'machine': {'cpus': os.cpu_count(), 'python': platform.python_version()},
           'command': 'python bench/retrieval_batch.py ' + ' '.join(sys.argv[1:] if argv is None else argv),
           'data': {'kind': 'synthetic, ML-20M-shaped', 'ratings': len(ds.ratings), 'users': data.n_users, 'items': data.n_items,
                    'protocol': protocol, 'sample_frac': a.sample_frac, 'fit_part': len(data.fit_part), 'valid': len(data.valid),
                    'generate_and_split_s': round(time.perf_counter() - t, 1)},
           'seed': a.seed, 'settings': f"query {query!r}, lazy-adam, no refit (the large-log settings; rows_per_user per run)", 'runs': []}
    print(f"data ready in {out['data']['generate_and_split_s']} s", file=sys.stderr)
    for batch, dim, lr, rows, history in grid:
        print(f"batch {batch}, dim {dim}, learning rate {lr}, rows per user {rows}, history length {history or 'default'}...", file=sys.stderr)
        t = time.perf_counter()
        cfg = RetrievalConfig(query=query, batch_size=batch, dim=dim, learning_rate=lr, rows_per_user=rows, history_length=history, optimizer='lazy-adam', refit=False,
                              seed=a.seed, epochs=a.epochs, patience=a.epochs)
        _, hist = train_retrieval(data, ds.items, cfg, progress=False)
        secs = sum(h['seconds'] for h in hist)
        out['runs'].append({'batch_size': batch, 'dim': dim, 'learning_rate': lr, 'rows_per_user': rows, **({'history_length': history} if history else {}),
                            'train_s': round(secs, 1),
                            'ratings_per_s': round(len(data.fit_part) * len(hist) / secs),
                            'with_validation_s': round(time.perf_counter() - t, 1),
                            'valid_hr@10': [round(h['valid_hr@10'], 4) for h in hist],
                            'valid_hr@100': [round(h['valid_hr@100'], 4) for h in hist]})
        print(json.dumps(out['runs'][-1]), file=sys.stderr)
        tf.keras.backend.clear_session(); gc.collect()  # one setting's model and graphs at a time
    best = max(out['runs'], key=lambda r: r['valid_hr@10'][-1])
    out['best_on_validation'] = {k: best[k] for k in ('batch_size', 'dim', 'learning_rate', 'rows_per_user', 'history_length') if k in best}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2))
    print(f"wrote {a.out}", file=sys.stderr)

if __name__ == '__main__': main()
