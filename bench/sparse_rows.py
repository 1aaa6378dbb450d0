"""The sparse rows of a retrieval step -> bench/results/sparse_rows.json: the title tokens without their padding and
lazy Adam's rows written whole, against the forms they replaced, on the same real batches.

    python bench/sparse_rows.py [--ratings 20000000] [--steps 200] [--rounds 4] [--seed 42]

A synthetic log of ML-20M's shape (bench/scale.py's shapes) is split leave-last-out, and two two-tower models are
built as a large-log run builds them (the `'latest'` query, dim 128, runs of 16 rows of one user, lazy Adam; the same
seed, so the same initial weights):
- `before`: the forms of commit 1d0425c, written out here. The candidate tower sums every place of a title's token
  matrix (8 places, 0 = padding) with the padding masked to zero, so the title table's gradient has a row per place,
  padding included, which the optimizer merges before its update; `LazyAdam` subtracts the new steps from the table
  with a scatter-subtract.
- `after`: the package's forms. The title's real tokens alone are summed (a segment sum over the non-zero places),
  and `LazyAdam` writes each touched row whole (a gather, the subtraction, a scatter that copies rows).
Both train on the first --steps batches of the same epoch order, one step per call of Keras' train function (as
`model.fit` calls it); then every weight of the two models is compared bit for bit (`weights_identical`: the change
must not move a figure). Then --rounds interleaved rounds time each model over those batches again: `step_ms` is the
median of the rounds' mean step, each round's figure is kept. The test set is not read.
"""
import argparse, itertools, json, statistics, subprocess, sys, time
from pathlib import Path
import recsysmodel.core  # quiet TensorFlow, Keras 2: before TensorFlow's first import
import numpy as np
import tensorflow as tf
import recsysmodel.retrieval as retrieval
from recsysmodel.data import prepare, synthetic_movielens
from recsysmodel.retrieval import LazyAdam, RetrievalConfig, TwoTower, build_two_tower, training_dataset

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import machine  # noqa: E402
from scale import shape  # noqa: E402  the same ML-20M shapes as the whole-run benchmark

class ScatterSubAdam(LazyAdam):
    "`LazyAdam` as it was at 1d0425c: the table's rows moved by a scatter-subtract."
    def update_step(self, gradient, variable):
        if not isinstance(gradient, tf.IndexedSlices): return tf.keras.optimizers.Adam.update_step(self, gradient, variable)
        key = self._index_dict[self._var_key(variable)]
        m, v = self._momentums[key], self._velocities[key]
        step = tf.cast(self.iterations + 1, variable.dtype)
        b1, b2 = tf.cast(self.beta_1, variable.dtype), tf.cast(self.beta_2, variable.dtype)
        alpha = tf.cast(self.learning_rate, variable.dtype) * tf.sqrt(1 - tf.pow(b2, step)) / (1 - tf.pow(b1, step))
        idx, g = gradient.indices, gradient.values
        m_rows = b1 * tf.gather(m, idx) + (1 - b1) * g
        v_rows = b2 * tf.gather(v, idx) + (1 - b2) * tf.square(g)
        m.scatter_update(tf.IndexedSlices(m_rows, idx)); v.scatter_update(tf.IndexedSlices(v_rows, idx))
        variable.scatter_sub(tf.IndexedSlices(alpha * m_rows / (tf.sqrt(v_rows) + self.epsilon), idx))

class PaddedTitles(TwoTower):
    "`TwoTower` with 1d0425c's candidate tower: every place of the title matrix embedded, the padding masked."
    def item_vectors(self, items):
        v = self.item_emb(items)
        if self.use_features:
            t = tf.gather(self.titles, items); m = tf.cast(t > 0, tf.float32)[..., None]
            v += tf.reduce_sum(self.title_emb(t) * m, 1) / tf.maximum(tf.reduce_sum(m, 1), 1.0)
            v += self.genre_proj(tf.gather(self.genres, items)) + self.year_emb(tf.gather(self.years, items))
        return tf.math.l2_normalize(v, -1)

def build(form:str, cfg, data, items):
    "A compiled two-tower model of `form` ('before' or 'after'), built by the package's `build_two_tower`."
    saved = retrieval.OPTIMIZERS['lazy-adam'], retrieval.TwoTower
    if form == 'before': retrieval.OPTIMIZERS['lazy-adam'], retrieval.TwoTower = ScatterSubAdam, PaddedTitles
    try: m, _ = build_two_tower(cfg, data, items, data.fit_part)
    finally: retrieval.OPTIMIZERS['lazy-adam'], retrieval.TwoTower = saved
    m.make_train_function()
    return m

def steps(m, batches) -> float:
    "Seconds for one train step per batch of `batches`, in order."
    it = iter(tf.data.Dataset.from_tensor_slices({k: tf.stack([b[k] for b in batches]) for k in batches[0]}))
    t = time.perf_counter()
    for _ in batches: m.train_function(it)
    return time.perf_counter() - t

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument('--ratings', type=int, default=20_000_000)
    p.add_argument('--steps', type=int, default=200, help='real batches each model trains on, then is timed on')
    p.add_argument('--rounds', type=int, default=4, help='interleaved timing rounds')
    p.add_argument('--seed', type=int, default=42, help="the models' seed (initial weights, batch order)")
    p.add_argument('--out', default=str(HERE/'results'/'sparse_rows.json'))
    a = p.parse_args(argv)
    if a.steps < 1 or a.rounds < 1: p.error(f"--steps and --rounds must be at least 1, got {a.steps} and {a.rounds}")
    syn = synthetic_movielens(**shape(a.ratings), seed=0)
    data = prepare(syn, 'leave-last-out')
    cfg = RetrievalConfig(query='latest', rows_per_user=16, optimizer='lazy-adam', seed=a.seed).resolved(data.train)
    batches = list(itertools.islice(training_dataset(cfg, data.fit_part, data.n_items), a.steps))
    models = {}
    for form in ('before', 'after'):  # each trained as soon as it is built: Keras makes the weights at the first step,
        models[form] = build(form, cfg, data, syn.items)  # from the random state `build_two_tower` seeds
        steps(models[form], batches)  # the same steps from the same weights
    pairs = list(zip(models['before'].trainable_variables, models['after'].trainable_variables))
    differ = [x.name for x, y in pairs if not np.array_equal(x.numpy(), y.numpy())]
    print('weights identical' if not differ else f"weights differ: {differ}", file=sys.stderr, flush=True)
    rounds = {form: [] for form in models}
    for _ in range(a.rounds):
        for form, m in models.items(): rounds[form].append(round(steps(m, batches) / len(batches) * 1000, 2))
    res = {form: {'step_ms': round(statistics.median(r), 2), 'rounds_ms': r,
                  'ratings_per_s': round(cfg.batch_size / statistics.median(r) * 1000)} for form, r in rounds.items()}
    print(res, file=sys.stderr)
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=HERE, capture_output=True, text=True).stdout.strip() or None
    out = {'commit': commit, 'machine': machine(),
           'command': 'python bench/sparse_rows.py ' + ' '.join(argv if argv is not None else sys.argv[1:]),
           'data': {'kind': 'synthetic, ML-20M-shaped', 'ratings': a.ratings, 'users': data.n_users, 'items': data.n_items,
                    'protocol': 'leave-last-out'},
           'setup': "query 'latest', dim 128, batches of 1,024 in runs of 16 rows of one user, lazy Adam; one step per call",
           'steps': len(batches), 'seed': a.seed, 'weights_identical': not differ, 'differing_weights': differ, 'forms': res}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2) + '\n')
    print(f"wrote {a.out}", file=sys.stderr)
    if differ: raise SystemExit(f"the two forms trained different weights: {differ}")

if __name__ == '__main__': main()
