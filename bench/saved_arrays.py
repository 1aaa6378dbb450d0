"""What a served history costs a SavedModel -> bench/results/saved_arrays.json: captured constants against variables.

    python bench/saved_arrays.py [--users 138493] [--items 26744] [--ratings 20000000] [--max-len 200]

A run's export writes the retrieval and sequence modules with every user's history: the rated items of each user
(a CSR matrix: --ratings int32 values, one int64 row split a user) and, for the sequence model, three (users, max_len)
int32 matrices (items, gap and rating buckets). Both layouts hold those arrays (random, of ML-20M's shape by default)
in a `tf.Module` whose `tf.function` gathers a user's rows, as the serving modules do: `constant` captures them as
tensors (the serving modules before `RaggedRows`), `variable` holds them as non-trainable variables (`RaggedRows` and
`tf.Variable`, what they hold now). Each layout is saved in a process of its own and loaded in another. Reported per
layout: the saving process's peak resident memory above what it held before `tf.saved_model.save`, the seconds of the
save, the sizes of saved_model.pb and variables/, and the loading process's peak above what it held before the load
with the seconds of the load and its first call; the two layouts' answers for the same users must be the same.
"""
import argparse, json, os, platform, subprocess, sys, tempfile, time
from pathlib import Path
HERE = Path(__file__).resolve().parent
LAYOUTS = ('constant', 'variable')
sys.path.insert(0, str(HERE))
from input_memory import rss_kib  # noqa: E402

def arrays(users:int, items:int, ratings:int, max_len:int) -> dict:
    "Random arrays of the served histories' shapes and types (seed 0)."
    import numpy as np, scipy.sparse as sp
    rng = np.random.default_rng(0)
    splits = np.concatenate([[0], np.sort(rng.integers(0, ratings, users - 1)), [ratings]]).astype(np.int64)
    seen = sp.csr_matrix((np.ones(ratings, np.int8), rng.integers(0, items, ratings, dtype=np.int32), splits), shape=(users, items))
    H, G, R = (rng.integers(0, hi, (users, max_len), dtype=np.int32) for hi in (items + 1, 12, 11))
    return {'seen': seen, 'H': H, 'G': G, 'R': R}

def module(layout:str, a:dict):
    "A module serving `a` the way the run's serving modules do, in `layout`."
    import recsysmodel.core  # quiet TensorFlow, Keras 2: before TensorFlow's first import
    import numpy as np, tensorflow as tf
    from recsysmodel.retrieval import RaggedRows
    class Served(tf.Module):
        def __init__(self):
            super().__init__()
            s = a['seen']
            if layout == 'constant':
                self.H, self.G, self.R = (tf.constant(a[k]) for k in 'HGR')
                self.seen = tf.RaggedTensor.from_row_splits(tf.constant(s.indices.astype(np.int32)), tf.constant(s.indptr.astype(np.int64)))
                self.rows = lambda u: tf.gather(self.seen, u)
            else:
                self.H, self.G, self.R = (tf.Variable(a[k], trainable=False, name=k) for k in 'HGR')
                self.seen = RaggedRows(s, name='rated')
                self.rows = self.seen.gather
        @tf.function(input_signature=[tf.TensorSpec([None], tf.int32, name='user')])
        def by_user(self, user):
            rated = self.rows(user)
            return {'rated': rated.values, 'splits': rated.row_splits, 'h': tf.gather(self.H, user) + tf.gather(self.G, user) + tf.gather(self.R, user)}
    return Served()

USERS = [0, 1, 7, 1000]

def answers(f) -> dict:
    import tensorflow as tf
    return {k: v.numpy().tolist() for k, v in f(user=tf.constant(USERS, tf.int32)).items()}

def save_child(layout:str, path:str, a_kw:dict) -> dict:
    import tensorflow as tf
    m = module(layout, arrays(**a_kw))
    mine = answers(m.by_user)
    base, t = rss_kib('VmRSS'), time.perf_counter()
    tf.saved_model.save(m, path, signatures={'serving_default': m.by_user})
    secs = time.perf_counter() - t
    size = lambda p: sum(f.stat().st_size for f in Path(p).rglob('*') if f.is_file()) if Path(p).is_dir() else Path(p).stat().st_size
    return {'save_peak_above_gb': round((rss_kib('VmHWM') - base) / 2**20, 2), 'save_s': round(secs, 1),
            'saved_model_pb_mb': round(size(Path(path)/'saved_model.pb') / 2**20, 1), 'variables_mb': round(size(Path(path)/'variables') / 2**20, 1),
            'answers': mine}

def load_child(path:str) -> dict:
    import recsysmodel.core  # quiet TensorFlow, Keras 2: before TensorFlow's first import
    import tensorflow as tf
    tf.constant(0)  # TensorFlow's own start-up is not the load's
    base, t = rss_kib('VmRSS'), time.perf_counter()
    f = tf.saved_model.load(path).signatures['serving_default']
    got = answers(f)
    return {'load_peak_above_gb': round((rss_kib('VmHWM') - base) / 2**20, 2), 'load_and_first_call_s': round(time.perf_counter() - t, 1), 'answers': got}

def run(args:list) -> dict:
    r = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if r.returncode: raise SystemExit(f"{' '.join(args[:2])} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.splitlines()[-1])

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument('--users', type=int, default=138_493)
    p.add_argument('--items', type=int, default=26_744)
    p.add_argument('--ratings', type=int, default=20_000_000)
    p.add_argument('--max-len', type=int, default=200)
    p.add_argument('--out', default=str(HERE/'results'/'saved_arrays.json'))
    p.add_argument('--save', nargs=2, metavar=('LAYOUT', 'PATH'), help=argparse.SUPPRESS)
    p.add_argument('--load', metavar='PATH', help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    a_kw = {'users': a.users, 'items': a.items, 'ratings': a.ratings, 'max_len': a.max_len}
    if a.save: print(json.dumps(save_child(*a.save, a_kw))); return
    if a.load: print(json.dumps(load_child(a.load))); return
    shape = ['--users', str(a.users), '--items', str(a.items), '--ratings', str(a.ratings), '--max-len', str(a.max_len)]
    rows, said = {}, {}
    with tempfile.TemporaryDirectory(prefix='recsys-saved-arrays-') as tmp:
        for layout in LAYOUTS:
            path = str(Path(tmp)/layout)
            saved, loaded = run(['--save', layout, path, *shape]), run(['--load', path, *shape])
            said[layout] = saved.pop('answers')
            if loaded.pop('answers') != said[layout]: raise SystemExit(f"{layout}: the loaded SavedModel answers differently from the module it saved")
            rows[layout] = {**saved, **loaded}
            print(f"{layout}: {rows[layout]}", file=sys.stderr)
    if said['constant'] != said['variable']: raise SystemExit("the two layouts answer differently")
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=HERE, capture_output=True, text=True).stdout.strip() or None
    arrays_mb = round((a.ratings * 4 + (a.users + 1) * 8 + 3 * a.users * a.max_len * 4) / 2**20, 1)
    out = {'machine': {'cpus': os.cpu_count(), 'python': platform.python_version()}, 'commit': commit,
           'command': ' '.join(['python bench/saved_arrays.py', *(argv if argv is not None else sys.argv[1:])]),
           'shape': {**a_kw, 'arrays_mb': arrays_mb}, 'layouts': rows}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2) + '\n')
    print(f"wrote {a.out}")

if __name__ == '__main__': main()
