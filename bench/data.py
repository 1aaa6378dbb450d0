"""Data-layer benchmark: cold load + validate + encode of a 20M-rating file vs. the pyarrow parse floor,
cached reload, and peak memory. Writes bench/results/data.json.

    python bench/data.py [--ratings 20000263] [--repeats 3]

The 20M-rating synthetic file (ml-20m CSV layout, the shape of ml-20m: 138,493 users, 27,278 items) is
generated once into bench/.cache/ (ignored by git) and reused. Each measurement runs in a fresh Python
process, so its peak RSS is its own.
"""
import argparse, json, os, platform, resource, statistics, subprocess, sys, tempfile, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE/'.cache'

def generate(n_ratings:int) -> Path:
    "Write the synthetic ml-20m-layout folder once; later runs reuse it."
    from recsysmodel.data import synthetic_movielens, write_movielens
    root = CACHE/f"synthetic-{n_ratings}"
    done = root/'ml-20m'/'.complete'
    if done.exists(): return root
    t = time.perf_counter()
    n_users, n_items = max(100, round(138_493 * n_ratings / 20_000_263)), max(200, round(27_278 * (n_ratings / 20_000_263) ** 0.5))
    ds = synthetic_movielens(n_users=n_users, n_items=n_items, n_ratings=n_ratings, seed=0)
    write_movielens(ds, root, 'ml-20m')
    done.write_text('')
    print(f"generated {n_ratings:,} ratings in {time.perf_counter() - t:.1f}s -> {root}", file=sys.stderr)
    return root

# Each probe runs in its own process and prints one JSON line: seconds and peak RSS.
PROBES = {
'floor': """
import pyarrow.csv as c
t = time.perf_counter(); tbl = c.read_csv(path); secs = time.perf_counter() - t
rows = tbl.num_rows
""",
'load_encode': """
from recsysmodel.data import load_movielens, IdEncoding
t = time.perf_counter()
ds = load_movielens('ml-20m', root, download=False)
enc = IdEncoding.fit(ds); r = enc.encode(ds.ratings)
secs = time.perf_counter() - t
rows = len(r)
""",
'load': """
from recsysmodel.data import load_movielens
t = time.perf_counter()
ds = load_movielens('ml-20m', root, download=False)
secs = time.perf_counter() - t
rows = len(ds.ratings)
""",
}

def probe(kind:str, root:Path, cache_dir:Path) -> dict:
    code = ("import json, resource, time, sys\nfrom pathlib import Path\n"
            f"root = Path({str(root)!r}); path = root/'ml-20m'/'ratings.csv'\n" + PROBES[kind] +
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]  # ru_maxrss would carry the parent's peak across fork+exec\nprint(json.dumps({'secs': secs, 'rows': rows, 'peak_rss_mb': int(hwm.split()[1]) / 1024}))")
    env = {**os.environ, 'RECSYS_CACHE_DIR': str(cache_dir)}
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--ratings', type=int, default=20_000_263, help="ratings in the synthetic file (default: ml-20m's count)")
    ap.add_argument('--repeats', type=int, default=3, help="runs of each measurement; medians are reported")
    ap.add_argument('--out', type=Path, default=HERE/'results'/'data.json')
    a = ap.parse_args()
    root = generate(a.ratings)
    ratings_csv = root/'ml-20m'/'ratings.csv'
    floor, cold_only, cold, cached, cached_enc = [], [], [], [], []
    for i in range(a.repeats):
        floor.append(probe('floor', root, Path(tempfile.mkdtemp())))
        cold_only.append(probe('load', root, Path(tempfile.mkdtemp())))  # empty cache: a first load
        cache_dir = Path(tempfile.mkdtemp())  # empty: a cold load
        cold.append(probe('load_encode', root, cache_dir))
        cached.append(probe('load', root, cache_dir))  # same cache: a reload
        cached_enc.append(probe('load_encode', root, cache_dir))
        print(f"run {i + 1}: floor {floor[-1]['secs']:.2f}s, cold {cold[-1]['secs']:.2f}s, cached {cached[-1]['secs']:.2f}s "
              f"(+encode {cached_enc[-1]['secs']:.2f}s), peak RSS cold {cold[-1]['peak_rss_mb']:.0f} MB", file=sys.stderr)
    med = lambda xs, k='secs': statistics.median(x[k] for x in xs)
    res = {
        'benchmark': 'data', 'command': 'python bench/data.py ' + ' '.join(sys.argv[1:]),
        'machine': {'cpus': os.cpu_count(), 'processor': platform.processor() or platform.machine(), 'python': platform.python_version()},
        'input': {'layout': 'ml-20m (ratings.csv + movies.csv)', 'ratings': cold[0]['rows'],
                  'ratings_csv_bytes': ratings_csv.stat().st_size, 'generated_by': 'synthetic_movielens(seed=0)'},
        'repeats': a.repeats,
        'parse_floor_s': med(floor), 'cold_load_validate_encode_s': med(cold), 'cached_reload_s': med(cached),
        'cached_reload_encode_s': med(cached_enc), 'cold_load_s': med(cold_only),
        'second_load_speedup': med(cold_only) / med(cached),
        'cold_over_floor': med(cold) / med(floor),
        'peak_rss_cold_mb': max(x['peak_rss_mb'] for x in cold), 'peak_rss_cached_mb': max(x['peak_rss_mb'] for x in cached + cached_enc),
        'peak_rss_floor_mb': max(x['peak_rss_mb'] for x in floor),
        'targets': {'cold_over_floor_max': 2.0, 'cached_reload_s_max': 2.0, 'peak_rss_mb_max': 2500, 'second_load_speedup_min': 10},
    }
    res['meets_targets'] = {'cold_over_floor': res['cold_over_floor'] <= 2.0, 'cached_reload': res['cached_reload_s'] <= 2.0,
                            'peak_rss': res['peak_rss_cold_mb'] <= 2500, 'second_load_speedup': res['second_load_speedup'] >= 10}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(res, indent=2) + '\n')
    print(json.dumps(res, indent=2))

if __name__ == '__main__': main()
