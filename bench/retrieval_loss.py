"""The in-batch softmax of retrieval training, alone -> bench/results/retrieval_loss.json: what its forms cost.

    python bench/retrieval_loss.py [--batch-size 1024] [--dim 128] [--reps 40] [--rows-per-user 8]

One (batch x batch) score matrix of unit vectors, forward and gradient (to the query and candidate vectors), as a
training step computes it: TFRS's `Retrieval` task as the two-tower model used it (temperature 0.1, log-Q correction,
accidental hits removed, a score mask for runs of `--rows-per-user` rows of one user), the model's own
`in_batch_loss` (the same loss without TFRS's batch x batch identity matrix), the same loss in fewer passes (the
correction as one more column of the product, one boolean mask, TensorFlow's sparse cross-entropy), the product with
a softmax and nothing else, the product alone, and the product with an exp. The model's form is first checked
against TFRS's value (relative 1e-6) and gradients (absolute 1e-4), the fewer-passes form with 1e-5 and 1e-4.
Each form is traced twice: for the batch size (`fixed`: TensorFlow knows every shape when it optimises the graph)
and for any batch size (`any`: as Keras traces a training step, since an epoch's last batch is shorter).
Milliseconds: the median of 3 rounds of `--reps`, the forms interleaved so that a slow moment of the machine falls
on all of them.
"""
import argparse, json, statistics, subprocess, sys, time
from pathlib import Path
import recsysmodel.core  # quiet TensorFlow, Keras 2: before TensorFlow's first import
import numpy as np
import tensorflow as tf
import tensorflow_recommenders as tfrs
from recsysmodel.retrieval import MIN_SCORE, in_batch_loss

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import machine  # noqa: E402
LOG_MIN_PROB, T = float(np.log(1e-6)), 0.1

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument('--batch-size', type=int, default=1024)
    p.add_argument('--dim', type=int, default=128)
    p.add_argument('--reps', type=int, default=40)
    p.add_argument('--rows-per-user', type=int, default=8, help='runs of this many rows of one user in the batch (their mask)')
    p.add_argument('--out', default=str(HERE/'results'/'retrieval_loss.json'))
    a = p.parse_args(argv)
    n, rng = a.batch_size, np.random.default_rng(0)
    q = tf.math.l2_normalize(rng.normal(size=(n, a.dim)).astype('f4'), -1)
    c = tf.math.l2_normalize(rng.normal(size=(n, a.dim)).astype('f4'), -1)
    ids = tf.constant(rng.integers(0, 26_744, n), tf.int32)
    users = tf.constant(np.repeat(np.arange(-(-n // a.rows_per_user)), a.rows_per_user)[:n], tf.int32)
    log_q = tf.constant(np.log(rng.uniform(1e-7, 1e-3, n)), tf.float32)
    task = tfrs.tasks.Retrieval(temperature=T, remove_accidental_hits=True)
    def tfrs_task(q, c, ids, users, log_q):
        mask = tf.logical_or(tf.not_equal(users[:, None], users[None]), tf.eye(tf.size(users), dtype=tf.bool))
        return task(q, c, candidate_sampling_probability=tf.exp(log_q), candidate_ids=ids, compute_metrics=False,
                    compute_batch_metrics=False, score_mask=mask)
    def fewer_passes(q, c, ids, users, log_q):
        m = tf.shape(q)[0]
        qx = tf.concat([q * (1 / T), -tf.ones([m, 1])], 1)
        cx = tf.concat([c, tf.clip_by_value(log_q, LOG_MIN_PROB, 0.0)[:, None]], 1)
        drop = tf.logical_or(tf.equal(ids[:, None], ids[None]), tf.equal(users[:, None], users[None]))
        drop = tf.linalg.set_diag(drop, tf.zeros([m], tf.bool))
        s = tf.where(drop, MIN_SCORE, tf.matmul(qx, cx, transpose_b=True))
        return tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(tf.range(m), s))
    labels = lambda q: tf.range(tf.shape(q)[0])
    forms = {'tfrs_task': tfrs_task,
             'model': lambda q, c, ids, users, log_q: in_batch_loss(q, c, ids, tf.exp(log_q), T, users),
             'fewer_passes': fewer_passes,
             'product_and_softmax': lambda q, c, *_: tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels(q), tf.matmul(q, c, transpose_b=True) / T)),
             'product_and_exp': lambda q, c, *_: tf.reduce_sum(tf.exp(tf.matmul(q, c, transpose_b=True))),
             'product': lambda q, c, *_: tf.reduce_sum(tf.matmul(q, c, transpose_b=True))}
    def step(f, rows):
        spec = [tf.TensorSpec([rows, a.dim])] * 2 + [tf.TensorSpec([rows], tf.int32)] * 2 + [tf.TensorSpec([rows])]
        @tf.function(input_signature=spec)
        def g(q, c, ids, users, log_q):
            with tf.GradientTape() as tape:
                tape.watch([q, c]); loss = f(q, c, ids, users, log_q)
            return [loss, *tape.gradient(loss, [q, c])]
        return g
    args = (q, c, ids, users, log_q)
    steps = {(k, shape): step(f, n if shape == 'fixed' else None) for k, f in forms.items() for shape in ('fixed', 'any')}
    ref = [x.numpy() for x in steps['tfrs_task', 'any'](*args)]
    same = {}
    for (k, shape), tol in [(('model', 'fixed'), 1e-6), (('model', 'any'), 1e-6), (('fewer_passes', 'fixed'), 1e-5), (('fewer_passes', 'any'), 1e-5)]:
        got = [x.numpy() for x in steps[k, shape](*args)]
        d = {'loss_relative_difference': float(abs(got[0] - ref[0]) / abs(ref[0])),
             'gradient_max_abs_difference': float(max(np.abs(x - y).max() for x, y in zip(got[1:], ref[1:])))}
        if d['loss_relative_difference'] > tol or d['gradient_max_abs_difference'] > 1e-4: raise SystemExit(f"the {k} loss ({shape}) is not TFRS's: {d}")
        same[f"{k} ({shape})"] = d
    rounds = {k: [] for k in steps}
    for g in steps.values(): g(*args)
    for _ in range(3):
        for k, g in steps.items():
            t = time.perf_counter()
            for _ in range(a.reps): g(*args)
            rounds[k].append((time.perf_counter() - t) / a.reps * 1000)
    ms = {k: {shape: round(statistics.median(rounds[k, shape]), 2) for shape in ('fixed', 'any')} for k in forms}
    print(ms, file=sys.stderr)
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=HERE, capture_output=True, text=True).stdout.strip() or None
    out = {'machine': machine(), 'commit': commit, 'batch_size': n, 'dim': a.dim, 'reps': a.reps, 'rows_per_user': a.rows_per_user,
           'command': 'python bench/retrieval_loss.py ' + ' '.join(argv if argv is not None else sys.argv[1:]),
           'vs_tfrs': same, 'forward_and_gradient_ms': ms,
           'rounds_ms': {f"{k} ({shape})": [round(x, 2) for x in v] for (k, shape), v in rounds.items()}}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2) + '\n')
    print(f"wrote {a.out}", file=sys.stderr)

if __name__ == '__main__': main()
