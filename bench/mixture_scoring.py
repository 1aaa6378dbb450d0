"""Scoring users with a gap-mixture retrieval model -> bench/results/mixture_scoring.json: op by op against one graph.

    python bench/mixture_scoring.py [--sample-of 20000000] [--sample-frac 0.05] [--users N]

A gap-mixture user is scored by one query per gap of their timeline, each a softmax over the whole catalogue, averaged:
(gaps x items) scores per chunk of about 4,096 gaps. This is the step that dominates evaluation on random-80-20 (every
test user, for validation, the served choice and three rows of the table). The data: synthetic ratings shaped like the
predecessor's sample setting, a share --sample-frac of a --sample-of-rating log shaped like ML-20M (138,493 users and
26,744 items at 20M, 1,000,013 ratings at 5 %), split random-80-20 as a run splits it. The model is an untrained
two-tower model of the run's defaults (dim 128, 2 items on each side of a gap, every rating of a user as history):
the work does not depend on the weights. Its test users (or the first --users of them) are scored both ways, in the
same chunks: `TwoTower.mixture_scores` called op by op (eager, as before) and `Retrieval.score` (the same function
traced once as a graph), chunk after chunk, each way first in every other chunk so that a slow moment of the machine
falls on both. Reported: the seconds of each way, the scores' largest difference and whether every user's top 10
items agree.
"""
import argparse, json, os, sys, time
from pathlib import Path
import recsysmodel.core  # quiet TensorFlow, Keras 2: before TensorFlow's first import
import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm
from recsysmodel.data import synthetic_movielens, prepare, interactions
from recsysmodel.retrieval import RetrievalConfig, build_two_tower, Retrieval

HERE = Path(__file__).resolve().parent
ML20M = {'ratings': 20_000_263, 'users': 138_493, 'items': 26_744}

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument('--sample-of', type=int, default=ML20M['ratings'], metavar='N', help='ratings of the ML-20M-shaped log sampled (default: 20,000,263)')
    p.add_argument('--sample-frac', type=float, default=0.05, metavar='F', help='share of its ratings (default: 0.05)')
    p.add_argument('--users', type=int, default=None, help='score only the first N test users (default: all)')
    p.add_argument('--out', default=str(HERE/'results'/'mixture_scoring.json'))
    a = p.parse_args(argv)
    f = a.sample_of / ML20M['ratings']
    shape = {'n_users': max(100, int(ML20M['users'] * f)), 'n_items': max(2_000, int(ML20M['items'] * min(1.0, f ** 0.5))),
             'n_ratings': int(round(a.sample_of * a.sample_frac))}  # the sample's ratings over the whole log's users and items
    t = time.perf_counter()
    ds = synthetic_movielens(**shape, seed=0)
    data = prepare(ds, 'random-80-20')
    cfg = RetrievalConfig().resolved(data.train)
    model, _ = build_two_tower(cfg, data, ds.items, data.train)
    ret = Retrieval(model, data.enc, interactions(data.train, data.n_users, data.n_items), cfg)
    users = np.unique(data.test.user_idx.to_numpy())[:a.users]
    hist = model.histories.numpy()[users]
    gaps = int((hist != data.n_items).sum() + len(users))
    print(f"{len(data.train):,} training ratings, {len(users):,} test users, {gaps:,} gaps, {data.n_items:,} items "
          f"(set up in {time.perf_counter() - t:.0f} s)", file=sys.stderr)
    # the chunks Retrieval.score makes (about 4,096 gaps of consecutive users), called op by op
    chunk = np.cumsum((hist != data.n_items).sum(1) + 1) // 4096
    parts = [tf.constant(users[chunk == c], tf.int32) for c in np.unique(chunk)]
    iv = tf.constant(ret.item_vecs)
    ways = {'eager': lambda u: model.mixture_scores(u, iv).numpy(), 'graph': lambda u: ret.score(u.numpy(), max_gaps=1 << 30)}  # one call: the same chunk
    ret.score(users[:8])  # traced once, outside the timing
    seconds, diff, same_inf, same_top = {w: 0.0 for w in ways}, 0.0, True, True
    def top(S):
        t = np.argpartition(-S, 9, axis=1)[:, :10]
        return np.take_along_axis(t, np.argsort(-np.take_along_axis(S, t, 1), axis=1, kind='stable'), 1)
    for i, u in enumerate(tqdm(parts, desc='chunks', file=sys.stderr)):
        out = {}
        for w in (list(ways) if i % 2 == 0 else list(ways)[::-1]):  # each way first in every other chunk
            t = time.perf_counter(); out[w] = ways[w](u); seconds[w] += time.perf_counter() - t
        finite = np.isfinite(out['eager'])
        if finite.any(): diff = max(diff, float(np.abs(out['eager'][finite] - out['graph'][finite]).max()))
        same_inf &= bool((finite == np.isfinite(out['graph'])).all())
        same_top &= bool((top(out['eager']) == top(out['graph'])).all())
    res = {'commit': os.popen('git rev-parse --short HEAD').read().strip(),
           'machine': f"{os.cpu_count()} cores", 'command': 'python bench/mixture_scoring.py ' + ' '.join(argv if argv is not None else sys.argv[1:]),
           'data': {'kind': 'synthetic, ML-20M-shaped sample', 'sample_of': a.sample_of, 'sample_frac': a.sample_frac,
                    'users': shape['n_users'], 'items': data.n_items, 'ratings': len(ds.ratings), 'train': len(data.train)},
           'scored_users': len(users), 'gaps': gaps, 'chunks': len(parts), 'seconds': {w: round(x, 1) for w, x in seconds.items()},
           'graph_share_of_eager': round(seconds['graph'] / seconds['eager'], 3),
           'max_abs_diff': diff, 'same_non_finite': same_inf, 'same_top10': same_top}
    Path(a.out).write_text(json.dumps(res, indent=1) + '\n')
    print(json.dumps(res, indent=1))

if __name__ == '__main__':
    main()
