"""The in-batch softmax of retrieval training, alone -> bench/results/retrieval_loss.json: what its forms cost.

    python bench/retrieval_loss.py [--batch-size 1024] [--dim 128] [--reps 40]

One (batch x batch) score matrix of unit vectors, forward and gradient (to the query and candidate vectors), as a
training step computes it: TFRS's `Retrieval` task as the two-tower model uses it (temperature 0.1, log-Q correction,
accidental hits removed, a score mask for runs of 8 rows of one user), the same loss in fewer passes (the correction
as one more column of the product, one boolean mask, TensorFlow's sparse cross-entropy), the product with a softmax
and nothing else, the product alone, and the product with an exp. The fewer-passes form is first checked against
TFRS's value (relative 1e-5) and gradients (absolute 1e-4). Milliseconds: the median of 3 rounds of `--reps`,
the forms interleaved so that a slow moment of the machine falls on all of them.
"""
import argparse, json, os, statistics, sys, time
from pathlib import Path
import recsysmodel.core  # quiet TensorFlow, Keras 2: before TensorFlow's first import
import numpy as np
import tensorflow as tf
import tensorflow_recommenders as tfrs

HERE = Path(__file__).resolve().parent
MIN_SCORE, LOG_MIN_PROB, T = np.finfo(np.float32).min / 100, float(np.log(1e-6)), 0.1

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument('--batch-size', type=int, default=1024)
    p.add_argument('--dim', type=int, default=128)
    p.add_argument('--reps', type=int, default=40)
    p.add_argument('--out', default=str(HERE/'results'/'retrieval_loss.json'))
    a = p.parse_args(argv)
    n, rng = a.batch_size, np.random.default_rng(0)
    q = tf.Variable(tf.math.l2_normalize(rng.normal(size=(n, a.dim)).astype('f4'), -1))
    c = tf.Variable(tf.math.l2_normalize(rng.normal(size=(n, a.dim)).astype('f4'), -1))
    ids = tf.constant(rng.integers(0, 26_744, n), tf.int32)
    users = tf.constant(np.repeat(np.arange(-(-n // 8)), 8)[:n], tf.int32)
    log_q = tf.constant(np.log(rng.uniform(1e-7, 1e-3, n)), tf.float32)
    task, labels = tfrs.tasks.Retrieval(temperature=T, remove_accidental_hits=True), tf.range(n)
    def tfrs_task():
        mask = tf.logical_or(tf.not_equal(users[:, None], users[None]), tf.eye(n, dtype=tf.bool))
        return task(q, c, candidate_sampling_probability=tf.exp(log_q), candidate_ids=ids, compute_metrics=False,
                    compute_batch_metrics=False, score_mask=mask)
    def fewer_passes():
        qx = tf.concat([q * (1 / T), -tf.ones([n, 1])], 1)
        cx = tf.concat([c, tf.clip_by_value(log_q, LOG_MIN_PROB, 0.0)[:, None]], 1)
        drop = tf.logical_or(tf.equal(ids[:, None], ids[None]), tf.equal(users[:, None], users[None]))
        drop = tf.linalg.set_diag(drop, tf.zeros([n], tf.bool))
        s = tf.where(drop, MIN_SCORE, tf.matmul(qx, cx, transpose_b=True))
        return tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, s))
    forms = {'tfrs_task': tfrs_task, 'fewer_passes': fewer_passes,
             'product_and_softmax': lambda: tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, tf.matmul(q, c, transpose_b=True) / T)),
             'product_and_exp': lambda: tf.reduce_sum(tf.exp(tf.matmul(q, c, transpose_b=True))),
             'product': lambda: tf.reduce_sum(tf.matmul(q, c, transpose_b=True))}
    def step(f):
        @tf.function
        def g():
            with tf.GradientTape() as tape: loss = f()
            return tape.gradient(loss, [q, c])
        return g
    steps = {k: step(f) for k, f in forms.items()}
    ref, mine = float(tfrs_task()), float(fewer_passes())
    grads = [steps['tfrs_task'](), steps['fewer_passes']()]
    same = {'loss_relative_difference': abs(mine - ref) / abs(ref),
            'gradient_max_abs_difference': max(float(tf.reduce_max(tf.abs(a - b))) for a, b in zip(*grads))}
    if same['loss_relative_difference'] > 1e-5 or same['gradient_max_abs_difference'] > 1e-4:
        raise SystemExit(f"the fewer-passes loss is not TFRS's: {same}")
    rounds = {k: [] for k in steps}
    for g in steps.values(): g()
    for _ in range(3):
        for k, g in steps.items():
            t = time.perf_counter()
            for _ in range(a.reps): g()
            rounds[k].append((time.perf_counter() - t) / a.reps * 1000)
    ms = {k: round(statistics.median(v), 2) for k, v in rounds.items()}
    print(ms, file=sys.stderr)
    out = {'machine': {'cpus': os.cpu_count()}, 'batch_size': n, 'dim': a.dim, 'reps': a.reps,
           'command': 'python bench/retrieval_loss.py ' + ' '.join(argv if argv is not None else sys.argv[1:]),
           'fewer_passes_vs_tfrs': same, 'forward_and_gradient_ms': ms, 'rounds_ms': {k: [round(x, 2) for x in v] for k, v in rounds.items()}}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2) + '\n')
    print(f"wrote {a.out}", file=sys.stderr)

if __name__ == '__main__': main()
