"""Retrieval training step at ML-20M's shape -> bench/results/retrieval_step.json: where a step's time goes.

    python bench/retrieval_step.py [--ratings 3000000] [--batch-size 1024] [--reps 30] [--setups NAME,...]
                                   [--fit-batches 0] [--steps-per-execution 1] [--profile 0]

A synthetic dataset with ML-20M's users and items (138,493 x 26,744; fewer ratings than ML-20M, since only the
shape of a batch matters here) is split leave-last-out; for each training set-up the two-tower model ('latest'
query, dim 128) runs one fixed batch `--reps` times: the forward loss, loss + gradient, and the whole Keras train
step (gradient + optimizer update). Milliseconds are medians of 3 rounds; ratings/s = batch size / train step.
Set-ups: the default (rows shuffled one by one, Adam), `rows_per_user` 8 (runs of one user's rows: each history
pooled once per run), `optimizer='lazy-adam'` (only the embedding rows a batch touched are updated), and both;
`--setups` picks some (comma-separated names), or other run lengths by the same names (`rows_per_user 16 + lazy-adam`);
a name with ` + segments` pools histories by sparse segment sums alone, as before `history_sums` could take the product
(`PRODUCT_RATIO` 0 while that set-up is built and run).
With `--fit-batches N`, each set-up also runs `model.fit` over the first N batches of its real training pipeline (a
fresh order per pass, the batches gathered as in a run) after one warm-up pass, compiled with `--steps-per-execution
K` (default 1, as the models are compiled): `fit_ratings_per_s` is what a run sees, input pipeline and Keras' loop
included, and also what a pass costs once (drawing the order of the whole log: seconds at 20M) spread over N batches.
Where the log holds 2N batches, `fit_marginal_ms_per_step` is a step as a whole epoch sees it: the difference of fits
over N and 2N batches (medians of 2 each, interleaved) per batch, in which what a pass costs once cancels;
`input_marginal_ms_per_batch` is the same difference for the input pipeline iterated alone (below zero where its cost
is smaller than the draw's variation between passes), and `pass_start_s` the time to a pass's first batch. The
per-step figures always run one step per call, traced for the batch's own shape: TensorFlow then folds what depends on
the batch size alone, where a run's steps are traced for any batch size (an epoch's last batch is shorter), as
`model.fit` here traces them (bench/retrieval_loss.py times both).
With `--profile N`, each set-up also runs N train steps over N distinct real batches (at most an epoch's) under
TensorFlow's profiler and reports where the compute threads spent a step (`profile`): the wall milliseconds per step
under the profiler, and the kernel milliseconds per step summed over the threads (so more than the wall time on 2
cores; work an op hands to the other thread's pool is not counted), by part (the forward pass, `gradient_tape/` the
gradient, the optimizer's ops) and by op type (the 12 largest).
"""
import argparse, collections, glob, itertools, json, os, statistics, sys, tempfile, time
from pathlib import Path
import recsysmodel.core  # quiet TensorFlow, Keras 2: before TensorFlow's first import
import recsysmodel.retrieval as retrieval
import numpy as np
import tensorflow as tf
from recsysmodel.data import synthetic_movielens, prepare
from recsysmodel.retrieval import RetrievalConfig, build_two_tower, training_dataset

HERE = Path(__file__).resolve().parent
SETUPS = ('default', 'rows_per_user 8', 'lazy-adam', 'rows_per_user 8 + lazy-adam')  # the default set-ups

def setup(name:str) -> dict|None:
    "The config changes of a set-up name: 'default', or parts joined by ' + ', each 'lazy-adam', 'rows_per_user N', 'history N' (items pooled per user, at least the query's 5 latest; 200 when left out) or 'segments' (key 'segments', not a config field); None if not one."
    if name == 'default': return {}
    kw = {}
    for part in name.split(' + '):
        kind, _, n = part.partition(' ')
        if part == 'lazy-adam' and 'optimizer' not in kw: kw['optimizer'] = 'lazy-adam'
        elif part == 'segments' and 'segments' not in kw: kw['segments'] = True
        elif kind == 'rows_per_user' and n.isdigit() and int(n) >= 1 and kind not in kw: kw[kind] = int(n)
        elif kind == 'history' and n.isdigit() and int(n) >= 5 and 'history_length' not in kw: kw['history_length'] = int(n)
        else: return None
    return kw

def ms(f, reps):
    f()
    rounds = []
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(reps): f()
        rounds.append((time.perf_counter() - t) / reps * 1000)
    return round(statistics.median(rounds), 1)

def profile(m, batches:list) -> dict:
    "Kernel milliseconds per step of `m`'s train step over `batches` (one step each), by part and by op type, from TensorFlow's profiler."
    try: from tensorflow.tsl.profiler.protobuf import xplane_pb2  # TensorFlow's own copy of the profiler's protocol buffers
    except ImportError as e: raise SystemExit(f"--profile needs TensorFlow's profiler protocol buffers (tensorflow.tsl.profiler.protobuf): {e}")
    it = iter(tf.data.Dataset.from_tensor_slices({k: tf.stack([b[k] for b in batches]) for k in batches[0]}).repeat())
    for _ in range(3): m.train_function(it)
    with tempfile.TemporaryDirectory() as d:
        tf.profiler.experimental.start(d)
        t = time.perf_counter()
        for _ in batches: m.train_function(it)
        wall = time.perf_counter() - t
        tf.profiler.experimental.stop()
        space = xplane_pb2.XSpace()
        space.ParseFromString(open(glob.glob(f"{d}/**/*.xplane.pb", recursive=True)[0], 'rb').read())
    part, kind, opt = collections.Counter(), collections.Counter(), m.optimizer.name + '/'
    for plane in space.planes:
        for line in plane.lines:
            if not line.name.startswith('tf_Compute'): continue
            for ev in line.events:
                name = plane.event_metadata[ev.metadata_id].name
                if ':' not in name or '::' in name: continue  # the executor's and thread pools' own events, not kernels
                op, op_type = name.rsplit(':', 1)
                ms = ev.duration_ps / 1e9 / len(batches)
                part['optimizer' if op.startswith(opt) else 'gradient' if op.startswith('gradient_tape/') else 'forward'] += ms
                kind[op_type] += ms
    return {'steps': len(batches), 'wall_ms_per_step': round(wall / len(batches) * 1000, 1),
            'kernel_ms_per_step': round(sum(part.values()), 1), 'by_part_ms': {k: round(v, 1) for k, v in part.most_common()},
            'by_op_type_ms': {k: round(v, 2) for k, v in kind.most_common(12)}}

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument('--ratings', type=int, default=3_000_000)
    p.add_argument('--batch-size', type=int, default=1024)
    p.add_argument('--reps', type=int, default=30)
    p.add_argument('--setups', default=','.join(SETUPS), help="comma-separated set-up names (default: the four above; any of 'rows_per_user N', 'lazy-adam', 'history N' joined by ' + ')")
    p.add_argument('--fit-batches', type=int, default=0, help='also time model.fit over this many real batches (0: no)')
    p.add_argument('--steps-per-execution', type=int, default=1, help="the fit's steps per call of its train function (Keras' steps_per_execution)")
    p.add_argument('--profile', type=int, default=0, metavar='N', help="also profile N train steps over N distinct batches: kernel time by part and op type (0: no)")
    p.add_argument('--out', default=str(HERE/'results'/'retrieval_step.json'))
    a = p.parse_args(argv)
    if a.profile < 0: p.error(f"--profile must be 0 or more steps, got {a.profile}")
    names = [n.strip() for n in a.setups.split(',') if n.strip()]
    if unknown := [n for n in names if setup(n) is None]: p.error(f"unknown set-ups {unknown}; known: {list(SETUPS)}, or any 'rows_per_user N[ + lazy-adam][ + history N][ + segments]'")
    syn = synthetic_movielens(n_users=138_493, n_items=26_744, n_ratings=a.ratings, seed=0)
    data = prepare(syn, 'leave-last-out')
    rows = {}
    default_ratio = retrieval.PRODUCT_RATIO
    for name in names:
        kw = setup(name)
        retrieval.PRODUCT_RATIO = 0 if kw.pop('segments', False) else default_ratio  # read when a graph is traced
        cfg = RetrievalConfig(query='latest', batch_size=a.batch_size, **kw).resolved(data.train)
        m, _ = build_two_tower(cfg, data, syn.items, data.fit_part)
        b = next(iter(training_dataset(cfg, data.fit_part, data.n_items)))
        def grad():
            with tf.GradientTape() as tape: loss = m.compute_loss(b, True)
            return tape.gradient(loss, m.trainable_variables)
        m.make_train_function(); it = iter(tf.data.Dataset.from_tensors(b).repeat())
        r = {'distinct_users_in_batch': int(len(np.unique(b['user'].numpy()))),
             'loss_ms': ms(tf.function(lambda: m.compute_loss(b, True)), a.reps), 'loss_and_gradient_ms': ms(tf.function(grad), a.reps),
             'train_step_ms': ms(lambda: m.train_function(it), a.reps)}
        r['ratings_per_s'] = round(a.batch_size / r['train_step_ms'] * 1000)
        if a.fit_batches:
            m.compile(optimizer=m.optimizer, steps_per_execution=a.steps_per_execution)
            full = training_dataset(cfg, data.fit_part, data.n_items)
            ds = full.take(a.fit_batches)
            m.fit(ds, epochs=1, verbose=0)  # warm-up: tracing, the optimizer's slots
            t = time.perf_counter(); m.fit(ds, epochs=1, verbose=0); secs = time.perf_counter() - t
            n = min(a.fit_batches * a.batch_size, len(data.fit_part))
            r.update(fit_batches=a.fit_batches, steps_per_execution=a.steps_per_execution, fit_s=round(secs, 2),
                     fit_ms_per_step=round(secs / -(-n // a.batch_size) * 1000, 1), fit_ratings_per_s=round(n / secs))
            if 2 * a.fit_batches * a.batch_size <= len(data.fit_part):
                # what a pass costs once (drawing the whole log's order, starting the iterator) is in both timings and
                # cancels: the difference of N and 2N batches is a step as an epoch of many batches sees it
                def timed(f):
                    t = time.perf_counter(); f(); return time.perf_counter() - t
                def passes(f):  # N batches, then 2N, twice, interleaved: the medians' difference per batch, in ms
                    one, two = [], []
                    for _ in range(2): one.append(timed(lambda: f(a.fit_batches))); two.append(timed(lambda: f(2 * a.fit_batches)))
                    return round((statistics.median(two) - statistics.median(one)) / a.fit_batches * 1000, 1)
                def drain(k):
                    for _ in full.take(k): pass
                r['fit_marginal_ms_per_step'] = passes(lambda k: m.fit(full.take(k), epochs=1, verbose=0))
                r['fit_marginal_ratings_per_s'] = round(a.batch_size / r['fit_marginal_ms_per_step'] * 1000)
                r['input_marginal_ms_per_batch'] = passes(drain)  # the input pipeline alone, nothing training beside it
                t = time.perf_counter(); full.take(1).get_single_element(); r['pass_start_s'] = round(time.perf_counter() - t, 2)
        if a.profile:
            r['profile'] = profile(m, list(itertools.islice(training_dataset(cfg, data.fit_part, data.n_items), a.profile)))
        rows[name if name not in rows else f"{name} #{sum(k.split(' #')[0] == name for k in rows) + 1}"] = r  # a repeat (drift) kept apart
        print(name, r, file=sys.stderr, flush=True)
    out = {'machine': {'cpus': os.cpu_count()}, 'dataset': {'kind': 'synthetic, ML-20M users and items', 'users': data.n_users,
           'items': data.n_items, 'ratings': a.ratings}, 'batch_size': a.batch_size, 'query': 'latest', 'dim': 128,
           'command': 'python bench/retrieval_step.py ' + ' '.join(argv if argv is not None else sys.argv[1:]), 'setups': rows}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2) + '\n')
    print(f"wrote {a.out}", file=sys.stderr)

if __name__ == '__main__': main()
