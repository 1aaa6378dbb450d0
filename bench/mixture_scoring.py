"""Scoring users with a gap-mixture retrieval model -> bench/results/mixture_scoring.json: where its time goes.

    python bench/mixture_scoring.py [--sample-of 20000000] [--sample-frac 0.05] [--users N] [--rounds 2]
                                    [--max-gaps 4096]

A gap-mixture user is scored by one query per gap of their timeline, each a softmax over the whole catalogue,
averaged: (gaps x items) scores per chunk of about --max-gaps gaps (4,096, `Retrieval.score`'s default). This is the
step that dominates evaluation on random-80-20 (every test user, for validation, the served choice and three rows of
the table). The data: synthetic ratings shaped like the predecessor's sample setting, a share --sample-frac of a
--sample-of-rating log shaped like ML-20M (138,493 users and 26,744 items at 20M; 1,000,013 ratings at 5 %), sampled
and split random-80-20 as a run does it. The model is an untrained two-tower model of the run's defaults (dim 128, 2
items on each side of a gap, every rating of a user as history): the work does not depend on the weights. Its test
users (or the first --users of them) are scored in the chunks `Retrieval.score` makes, five ways:
`TwoTower.mixture_scores` op by op (as `Retrieval.score` scored until this benchmark showed the graph faster), the
same function traced once as one TensorFlow graph (its element-wise steps free to fuse), `Retrieval.score` itself
(that graph, with the work around it), the product alone (each chunk's gap queries, computed beforehand, times the
item vectors), copied out to NumPy as the others' results are (`product`: a gaps x items array, 438 MB a chunk at
26,744 items, where the others copy a users x items one) and left in TensorFlow (`product_kept`: the floor of any
form). Each way scores every chunk in turn; the ways take turns, their order alternating by round. Reported: the
seconds of each way and round, and, from a pass that compares op by op and `Retrieval.score` chunk by chunk, the
scores' largest difference and whether every user's top 10 items agree.
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
    p.add_argument('--rounds', type=int, default=2, help='rounds of every way, their order reversed every other round (default: 2)')
    p.add_argument('--max-gaps', type=int, default=4096, metavar='N', help="gaps per chunk, about (default: 4,096, Retrieval.score's)")
    p.add_argument('--out', default=str(HERE/'results'/'mixture_scoring.json'))
    a = p.parse_args(argv)
    if a.max_gaps < 1: p.error(f"--max-gaps must be at least 1, got {a.max_gaps}")
    f = a.sample_of / ML20M['ratings']
    shape = {'n_users': max(100, int(ML20M['users'] * f)), 'n_items': max(2_000, int(ML20M['items'] * min(1.0, f ** 0.5))),
             'n_ratings': a.sample_of}
    t = time.perf_counter()
    ds = synthetic_movielens(**shape, seed=0)
    data = prepare(ds, 'random-80-20', a.sample_frac)  # as a run samples it (its default seed)
    cfg = RetrievalConfig().resolved(data.train)
    model, _ = build_two_tower(cfg, data, ds.items, data.train)
    ret = Retrieval(model, data.enc, interactions(data.train, data.n_users, data.n_items), cfg)
    users = np.unique(data.test.user_idx.to_numpy())[:a.users]
    hist = model.histories.numpy()[users]
    gaps = int((hist != data.n_items).sum() + len(users))
    print(f"{len(data.train):,} training ratings, {len(users):,} test users, {gaps:,} gaps, {data.n_items:,} items "
          f"(set up in {time.perf_counter() - t:.0f} s)", file=sys.stderr)
    # the chunks Retrieval.score makes (about --max-gaps gaps of consecutive users)
    chunk = np.cumsum((hist != data.n_items).sum(1) + 1) // a.max_gaps
    parts = [tf.constant(users[chunk == c], tf.int32) for c in np.unique(chunk)]
    iv = tf.constant(ret.item_vecs)
    graph = tf.function(model.mixture_scores, input_signature=[tf.TensorSpec([None], tf.int32), tf.TensorSpec(iv.shape, tf.float32)])
    graph(parts[0], iv)  # traced once, outside the timing
    c = 1.0 / model.temperature  # the product as mixture_scores forms it: the queries / T and a column for the shift
    def gap_queries(u):
        ctx, row = model.gap_contexts(u)
        q = model.query_vectors(tf.gather(u, row), context=ctx)
        return tf.concat([q * c, tf.fill([tf.shape(q)[0], 1], -c)], 1)
    queries = [gap_queries(u) for u in parts]
    items = tf.concat([iv, tf.ones([iv.shape[0], 1])], 1)
    ways = {'op_by_op': lambda i: model.mixture_scores(parts[i], iv).numpy(),
            'graph': lambda i: graph(parts[i], iv).numpy(),
            'score': lambda i: ret.score(parts[i].numpy(), max_gaps=1 << 30),  # the library's path; one call: the same chunk
            'product': lambda i: tf.matmul(queries[i], items, transpose_b=True).numpy(),
            'product_kept': lambda i: tf.matmul(queries[i], items, transpose_b=True)}  # computed (eager: at once), not copied
    diff, same_inf, same_top = 0.0, True, True
    def top(S):
        t = np.argpartition(-S, 9, axis=1)[:, :10]
        return np.take_along_axis(t, np.argsort(-np.take_along_axis(S, t, 1), axis=1, kind='stable'), 1)
    for i in tqdm(range(len(parts)), desc='comparing', file=sys.stderr):  # the same scores? (not timed)
        A, B = ways['op_by_op'](i), ways['score'](i)
        finite = np.isfinite(A)
        if finite.any(): diff = max(diff, float(np.abs(A[finite] - B[finite]).max()))
        same_inf &= bool((finite == np.isfinite(B)).all())
        same_top &= bool((top(A) == top(B)).all())
    seconds = {w: [] for w in ways}
    for r in range(a.rounds):  # every chunk one way, then the next way; the order reversed every other round
        for w in (list(ways) if r % 2 == 0 else list(ways)[::-1]):
            t = time.perf_counter()
            for i in range(len(parts)): ways[w](i)
            seconds[w].append(round(time.perf_counter() - t, 1))
            print(f"round {r + 1}: {w} {seconds[w][-1]} s", file=sys.stderr)
    res = {'commit': os.popen('git rev-parse --short HEAD').read().strip(),
           'machine': f"{os.cpu_count()} cores", 'command': 'python bench/mixture_scoring.py ' + ' '.join(argv if argv is not None else sys.argv[1:]),
           'data': {'kind': 'synthetic, ML-20M-shaped sample', 'sample_of': a.sample_of, 'sample_frac': a.sample_frac,
                    'users': shape['n_users'], 'items': data.n_items, 'log_ratings': len(ds.ratings),
                    'sampled': len(data.train) + len(data.test), 'train': len(data.train)},
           'scored_users': len(users), 'gaps': gaps, 'max_gaps': a.max_gaps, 'chunks': len(parts), 'seconds': seconds,
           'share_of_op_by_op': {w: round(sum(x) / sum(seconds['op_by_op']), 3) for w, x in seconds.items()},
           'max_abs_diff': diff, 'same_non_finite': same_inf, 'same_top10': same_top}
    Path(a.out).write_text(json.dumps(res, indent=1) + '\n')
    print(json.dumps(res, indent=1))

if __name__ == '__main__':
    main()
