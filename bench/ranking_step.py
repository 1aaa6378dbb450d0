"""Ranking training step at ML-20M's shape -> bench/results/ranking_step.json: what the optimizer costs with many users.

    python bench/ranking_step.py [--ratings 3000000] [--batch-size 256] [--steps 2000] [--optimizers adam,lazy-adam]
                                 [--steps-per-execution K]

A synthetic dataset with ML-20M's users and items (138,493 x 26,744; fewer ratings than ML-20M, since only the shape
of the model's tables matters here) is split leave-last-out; the default ranking model (DCN-v2 head, rating histories)
trains `--steps` steps of the shuffled training data with `model.fit`, as a run does (after a warm-up of 50 steps), once
with Adam and once with `optimizer='lazy-adam'`. results/ranking_step.json was measured when `rating_dataset` was a
`cache().shuffle(n)` pipeline (before commit b5f05df), whose buffer the warm-up filled. Milliseconds per step include the
input pipeline; ratings/s = batch size / step. Also the compiled train step alone on one fixed batch (median of 3
rounds of 30), which excludes the input pipeline. `model.fit` runs one step per call of its train function, as
the model is compiled, unless `--steps-per-execution K` says otherwise.
"""
import argparse, json, os, statistics, sys, time
from pathlib import Path
import recsysmodel.core  # quiet TensorFlow, Keras 2: before TensorFlow's first import
import tensorflow as tf
from recsysmodel.data import synthetic_movielens, prepare
from recsysmodel.ranking import RankingConfig, build_ranker, rating_dataset

HERE = Path(__file__).resolve().parent

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument('--ratings', type=int, default=3_000_000)
    p.add_argument('--batch-size', type=int, default=256)
    p.add_argument('--steps', type=int, default=2000)
    p.add_argument('--optimizers', default='adam,lazy-adam', help='comma-separated: adam, lazy-adam')
    p.add_argument('--steps-per-execution', type=int, help="the fit's steps per call of its train function (default: as the model is compiled, 1)")
    p.add_argument('--out', default=str(HERE/'results'/'ranking_step.json'))
    a = p.parse_args(argv)
    opts = [o.strip() for o in a.optimizers.split(',') if o.strip()]
    if unknown := sorted(set(opts) - {'adam', 'lazy-adam'}): p.error(f"unknown optimizers {unknown}; known: adam, lazy-adam")
    syn = synthetic_movielens(n_users=138_493, n_items=26_744, n_ratings=a.ratings, seed=0)
    data = prepare(syn, 'leave-last-out')
    rows = {}
    for opt in opts:
        cfg = RankingConfig(batch_size=a.batch_size, optimizer=opt)
        m, _ = build_ranker(cfg, data, syn.items, data.fit_part)
        if a.steps_per_execution: m.compile(optimizer=m.optimizer, steps_per_execution=a.steps_per_execution)
        ds = rating_dataset(data.fit_part, a.batch_size, cfg.seed)
        b = next(iter(ds))
        step = tf.function(lambda: m.train_step(b))
        step(); rounds = []
        for _ in range(3):
            t = time.perf_counter()
            for _ in range(30): step()
            rounds.append((time.perf_counter() - t) / 30 * 1000)
        m.fit(ds.take(50), verbose=0)
        t = time.perf_counter(); m.fit(ds.take(a.steps), verbose=0); fit_ms = (time.perf_counter() - t) / a.steps * 1000
        rows[opt] = {'train_step_ms': round(statistics.median(rounds), 1), 'fit_ms_per_step': round(fit_ms, 1),
                     'steps_per_execution': a.steps_per_execution or 1,
                     'ratings_per_s': round(a.batch_size / fit_ms * 1000)}
        print(opt, rows[opt], file=sys.stderr, flush=True)
    out = {'machine': {'cpus': os.cpu_count()}, 'dataset': {'kind': 'synthetic, ML-20M users and items', 'users': data.n_users,
           'items': data.n_items, 'ratings': a.ratings}, 'batch_size': a.batch_size, 'steps': a.steps,
           'command': 'python bench/ranking_step.py ' + ' '.join(argv if argv is not None else sys.argv[1:]), 'optimizers': rows}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2) + '\n')
    print(f"wrote {a.out}", file=sys.stderr)

if __name__ == '__main__': main()
