"""TensorFlow's oneDNN kernels on or off -> bench/results/onednn.json: what they change in each model's training step and
in the evaluation's largest product, on the machine it runs on.

    python bench/onednn.py [--ratings 20000000] [--rounds 6]

TensorFlow turns its oneDNN kernels on by itself on processors with AVX-512 VNNI and newer features; on an AMD EPYC
with AVX2 alone, TensorFlow 2.20 left them off (its profile lists Eigen's `MatMul`) unless `TF_ENABLE_ONEDNN_OPTS=1`
was in the process's environment (read at TensorFlow's first import; recsysmodel leaves it as you set it). This starts two worker processes, one with
`TF_ENABLE_ONEDNN_OPTS=0`, one with `=1` (each reports whether oneDNN is on), each of which builds, from the same
synthetic log of ML-20M's shape (bench/scale.py's shapes, split leave-last-out), the three models as a large-log run
does and takes the first batches of each one's training input (the same batches in both):
- retrieval: the `'latest'` query, dim 128, runs of 16 rows of one user, lazy Adam (`retrieval_batches` batches of 1,024);
- ranking: lazy Adam (`ranking_batches` batches of 256);
- sequence: the sampled softmax, batches of windows of similar length (`sequence_batches` batches of 32);
- scoring: the gap mixture's product, 4,096 queries against 26,744 items with the shift column (129 wide), an exp and a
  row sum, as `TwoTower.mixture_scores` computes a chunk (`scoring_reps` times).
Then the two workers take turns, each round every task once in each (which one goes first alternates), so a slow
minute of the machine falls on both: a task's figure is the median of its rounds (milliseconds per training step, or
per scored chunk), every round kept. Each worker also reports the retrieval loss of its first batch before any training,
with the same initial weights: where the two differ, oneDNN's products round differently, so a run's figures on such a
machine move in their last digits.
"""
import argparse, itertools, json, os, statistics, subprocess, sys, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
TASKS = ('retrieval', 'ranking', 'sequence', 'scoring')
SIZES = {'retrieval_batches': 60, 'ranking_batches': 300, 'sequence_batches': 20, 'scoring_reps': 3}
PREFIX = 'BENCH '  # the worker's answers on stdout (TensorFlow writes to stderr)

def worker(n_ratings:int):
    "Build the models and their batches, say so, then run each task named on stdin and answer its seconds."
    import recsysmodel.core  # noqa: F401  quiet TensorFlow, Keras 2: before TensorFlow's first import
    import tensorflow as tf
    from tensorflow.python.util import _pywrap_util_port
    from recsysmodel.data import prepare, synthetic_movielens
    from recsysmodel.ranking import RankingConfig, build_ranker, rating_dataset
    from recsysmodel.retrieval import RetrievalConfig, build_two_tower, training_dataset
    from recsysmodel.sequence import SequenceConfig, build_sasrec, sequence_dataset
    from scale import shape
    syn = synthetic_movielens(**shape(n_ratings), seed=0)
    data = prepare(syn, 'leave-last-out')
    def steps(m, ds, n):
        "A round: one train step (Keras' train function, as `model.fit` calls it) on each of the first `n` batches of `ds`."
        # each batch from its own iterator: no input pipeline in the figure, and no `fit` around it (on a machine here a
        # `fit` over a few seconds of steps sometimes ended only at the next multiple of 10.24 s)
        m.make_train_function()
        its = [iter(tf.data.Dataset.from_tensors(b).repeat()) for b in itertools.islice(ds, n)]
        def run():
            for it in its: m.train_function(it)
        run()  # the first round traces the step (and a few more traces for the sequence model's widths)
        return run
    cfg = RetrievalConfig(query='latest', rows_per_user=16, optimizer='lazy-adam').resolved(data.train)
    ret, _ = build_two_tower(cfg, data, syn.items, data.fit_part)
    ds = training_dataset(cfg, data.fit_part, data.n_items)
    first_loss = float(ret.compute_loss(next(iter(ds)), training=False))  # the initial weights, the first batch
    rc = RankingConfig(optimizer='lazy-adam', refit=False)
    rank, _ = build_ranker(rc, data, syn.items, data.fit_part)
    sc = SequenceConfig(loss='sampled', length_buckets=True, refit=False).resolved(data.train, data.n_items)
    seq, _ = build_sasrec(sc, data, syn.items, data.fit_part)
    gen = tf.random.Generator.from_seed(0)
    q, v = gen.normal([4096, 129]), gen.normal([data.n_items, 129])
    product = tf.function(lambda q, v: tf.reduce_sum(tf.exp(tf.matmul(q, v, transpose_b=True) * 0.01), 1))
    product(q, v)
    def scoring():
        for _ in range(SIZES['scoring_reps']): product(q, v).numpy()
    tasks = {'retrieval': steps(ret, ds, SIZES['retrieval_batches']),
             'ranking': steps(rank, rating_dataset(data.fit_part, rc.batch_size, rc.seed), SIZES['ranking_batches']),
             'sequence': steps(seq, sequence_dataset(sc, data.fit_part, data.n_items), SIZES['sequence_batches']),
             'scoring': scoring}
    print(PREFIX + json.dumps({'onednn': bool(_pywrap_util_port.IsMklEnabled()), 'first_retrieval_loss': first_loss,
                               'ratings': len(data.train) + len(data.valid) + len(data.test), 'users': data.n_users,
                               'items': data.n_items}), flush=True)
    for line in sys.stdin:
        t = time.perf_counter(); tasks[line.strip()](); print(PREFIX + json.dumps(time.perf_counter() - t), flush=True)
    # every answer is out: leave without Python's clean-up, which waited forever on a lock here at 20M (a thousand
    # input threads, an iterator's for each batch)
    sys.stdout.flush(); os._exit(0)

def answer(proc) -> object:
    "The worker's next answer (other lines on its stdout skipped); a SystemExit if it ended."
    for line in proc.stdout:
        if line.startswith(PREFIX): return json.loads(line[len(PREFIX):])
    raise SystemExit(f"a worker ended early (exit status {proc.wait()}): its error, if it wrote one, is above")

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument('--ratings', type=int, default=20_000_000, help='ratings of the synthetic log (default: ML-20M size)')
    p.add_argument('--rounds', type=int, default=6, help='rounds of every task in each worker, taking turns')
    p.add_argument('--worker', action='store_true', help=argparse.SUPPRESS)
    p.add_argument('--out', default=str(HERE/'results'/'onednn.json'))
    a = p.parse_args(argv)
    if a.worker: return worker(a.ratings)
    if a.rounds < 1: p.error(f"--rounds must be at least 1, got {a.rounds}")
    from common import machine
    t0 = time.perf_counter()
    procs = {mode: subprocess.Popen([sys.executable, __file__, '--worker', '--ratings', str(a.ratings)], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True, env={**os.environ, 'TF_ENABLE_ONEDNN_OPTS': mode})
             for mode in ('0', '1')}
    try:
        info = {mode: answer(proc) for mode, proc in procs.items()}
        print(f"workers ready after {time.perf_counter() - t0:.0f} s: {info}", file=sys.stderr)
        seconds = {mode: {t: [] for t in TASKS} for mode in procs}
        for r in range(a.rounds):
            for task in TASKS:
                for mode in (('0', '1') if r % 2 == 0 else ('1', '0')):
                    procs[mode].stdin.write(task + '\n'); procs[mode].stdin.flush()
                    seconds[mode][task].append(answer(procs[mode]))
            print(f"round {r + 1}: " + ', '.join(f"{t} {seconds['0'][t][-1]:.2f}/{seconds['1'][t][-1]:.2f} s" for t in TASKS), file=sys.stderr)
    finally:
        for proc in procs.values(): proc.stdin.close(); proc.wait()
    per = {'retrieval': SIZES['retrieval_batches'], 'ranking': SIZES['ranking_batches'], 'sequence': SIZES['sequence_batches'],
           'scoring': SIZES['scoring_reps']}
    ms = {mode: {t: [round(s / per[t] * 1000, 2) for s in seconds[mode][t]] for t in TASKS} for mode in procs}
    res = {t: {'off_ms': round(statistics.median(ms['0'][t]), 2), 'on_ms': round(statistics.median(ms['1'][t]), 2),
               'off_rounds_ms': ms['0'][t], 'on_rounds_ms': ms['1'][t]} for t in TASKS}
    for r in res.values(): r['on_over_off'] = round(r['on_ms'] / r['off_ms'], 3)
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=HERE, capture_output=True, text=True).stdout.strip() or None
    out = {'commit': commit, 'machine': machine(), 'command': 'python bench/onednn.py ' + ' '.join(argv if argv is not None else sys.argv[1:]),
           'data': {'kind': 'synthetic, ML-20M-shaped', **{k: info['1'][k] for k in ('ratings', 'users', 'items')}, 'protocol': 'leave-last-out'},
           'units': 'milliseconds per training step (retrieval, ranking, sequence) or per 4,096 x 26,744 scored chunk (scoring)',
           'sizes': SIZES, 'rounds': a.rounds, 'onednn_on': {'off': info['0']['onednn'], 'on': info['1']['onednn']},
           'first_retrieval_loss': {'off': info['0']['first_retrieval_loss'], 'on': info['1']['first_retrieval_loss']},
           'tasks': res}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2) + '\n')
    print(json.dumps({t: (r['off_ms'], r['on_ms'], r['on_over_off']) for t, r in res.items()}), file=sys.stderr)
    print(f"wrote {a.out}", file=sys.stderr)

if __name__ == '__main__': main()
