"""REST service benchmark -> bench/results/serve.json.

    python bench/serve.py [--run runs/<id> | --out-dir runs] [--requests 2000] [--seconds 20]

Starts `recsys serve` on 127.0.0.1 (a free port, one worker) over an ml-latest-small run, with each `--batching`
(off; wait, 2 ms; auto) and with auto on two workers, and drives `GET /v1/recommendations/{user_id}?k=10` for random known users at
concurrency 1, 8 and 32 with a keep-alive HTTP/1.1 client on asyncio (one process, on the same 2 cores as the
server: the figures include the client's own cost). Each level stops after --requests answers or --seconds,
whichever comes first, and is measured --rounds times (the machine's timing noise is large: the JSON holds the median
and the range). Reported: requests/s, p50/p99 latency, non-200 answers; beside them the in-process
`Recommender.recommend(user, 10)` p50 and rate measured in this script, the service's own hot path in process
(`serve.top_items`), and the HTTP overhead per request (HTTP p50 at concurrency 1 over the in-process `recommend` p50, with the default
batching and with none).

The run defaults to the latest under --out-dir (default runs/); without one, a run is trained first on
ml-latest-small in the release configuration (leave-last-out, `--query latest --index scann`, every model, --epochs
epochs) from --data-dir (default $RECSYS_DATA_DIR or
../shared/data; synthetic data of the same shape when absent, and the JSON says which).
"""
import argparse, asyncio, json, os, platform, random, signal, socket, subprocess, sys, tempfile, time
from pathlib import Path
import recsysmodel.core  # quiet TensorFlow, Keras 2: before TensorFlow's first import
import numpy as np
from recsysmodel.data import find_source
from recsysmodel.predict import Recommender
from recsysmodel.runs import latest_run

HERE = Path(__file__).resolve().parent
RECSYS = Path(sys.executable).parent/'recsys'

def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

async def _one(reader, writer, path):
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next(int(l.split(b":", 1)[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:"))
    await reader.readexactly(length)
    return status

async def load(port, users, concurrency, requests, seconds):
    "Closed loop: `concurrency` connections, each sending its next request when the last one is answered."
    lat, bad, end = [], 0, time.perf_counter() + seconds
    async def worker(i):
        nonlocal bad
        rnd = random.Random(i)
        reader, writer = await asyncio.open_connection('127.0.0.1', port)
        while len(lat) < requests and time.perf_counter() < end:
            t = time.perf_counter()
            st = await _one(reader, writer, f"/v1/recommendations/{rnd.choice(users)}?k=10")
            lat.append(time.perf_counter() - t); bad += st != 200
        writer.close()
    t0 = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    wall = time.perf_counter() - t0
    ms = np.array(lat) * 1e3
    return {'concurrency': concurrency, 'requests': len(lat), 'seconds': round(wall, 2), 'requests_per_s': round(len(lat) / wall, 1),
            'p50_ms': round(float(np.percentile(ms, 50)), 2), 'p99_ms': round(float(np.percentile(ms, 99)), 2), 'non_200': int(bad)}

def median_of(rounds:list) -> dict:
    "One level's figures over rounds: the median of each, and the range of p50 and requests/s."
    out = {k: rounds[0][k] for k in ('concurrency',)}
    for k in ('requests_per_s', 'p50_ms', 'p99_ms'): out[k] = round(float(np.median([r[k] for r in rounds])), 2)
    out['non_200'] = sum(r['non_200'] for r in rounds); out['requests'] = sum(r['requests'] for r in rounds)
    out['p50_ms_range'] = [min(r['p50_ms'] for r in rounds), max(r['p50_ms'] for r in rounds)]
    out['requests_per_s_range'] = [min(r['requests_per_s'] for r in rounds), max(r['requests_per_s'] for r in rounds)]
    return out

def serve(run, batching, workers, levels, users, a) -> dict:
    port = free_port()
    proc = subprocess.Popen([str(RECSYS), 'serve', '--artifacts', str(run), '--port', str(port), '--no-access-log',
                             '--workers', str(workers), '--batching', batching, '--batch-wait-ms', '2'],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        import requests
        t0 = time.perf_counter()
        while True:
            if proc.poll() is not None: raise SystemExit(f"recsys serve exited: {proc.stderr.read()[-2000:]}")
            try:
                if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200: break
            except requests.ConnectionError: pass
            time.sleep(0.2)
        ready_s = time.perf_counter() - t0
        for c in (1, 8, 32): asyncio.run(load(port, users, c, 300, 10))  # warm-up: every worker, every batch size
        rounds = [[asyncio.run(load(port, users, c, a.requests, a.seconds)) for c in levels] for _ in range(a.rounds)]
        out = {'batching': batching, 'batch_wait_ms': 2 if batching == 'wait' else None, 'workers': workers,
               'start_to_ready_s': round(ready_s, 1), 'levels': [median_of([r[i] for r in rounds]) for i in range(len(levels))]}
        for lv in out['levels']: print(f"batching={batching} workers={workers} {lv}", file=sys.stderr)
        return out
    finally:
        proc.send_signal(signal.SIGTERM); proc.wait(60)

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument('--run', help='run folder to serve (default: latest under --out-dir, else train one)')
    p.add_argument('--out-dir', default='runs')
    p.add_argument('--data-dir', default=os.environ.get('RECSYS_DATA_DIR', str(HERE.parent.parent/'shared'/'data')))
    p.add_argument('--epochs', type=int, default=3, help='epochs of a run trained here (default: %(default)s)')
    p.add_argument('--requests', type=int, default=2000, help='answers per concurrency level (default: %(default)s)')
    p.add_argument('--seconds', type=float, default=20, help='time limit per concurrency level (default: %(default)s)')
    p.add_argument('--repeats', type=int, default=1000, help='in-process recommend calls (default: %(default)s)')
    p.add_argument('--rounds', type=int, default=3, help='measurements of each level; the JSON holds their median and range (default: %(default)s)')
    p.add_argument('--out', default=str(HERE/'results'/'serve.json'))
    a = p.parse_args(argv)
    run = Path(a.run) if a.run else latest_run(a.out_dir)
    trained_here = run is None
    if run is None:
        from recsysmodel.train import run_training
        have = find_source('ml-latest-small', a.data_dir) is not None
        if not have: print(f"ml-latest-small not found in {a.data_dir}: training on synthetic data", file=sys.stderr)
        run = run_training(dataset='ml-latest-small' if have else 'synthetic', data_dir=a.data_dir, download=False, epochs=a.epochs,
                           protocol='leave-last-out', query='latest', index='scann', out_dir=tempfile.mkdtemp(), track=False,
                           baselines=False, progress=False)
    rec = Recommender.load(run)
    users = [int(u) for u in rec.user_ids]
    rnd = random.Random(0)
    for u in users[:20]: rec.recommend(u, 10)
    ts = []
    for _ in range(a.repeats):
        u = rnd.choice(users); t = time.perf_counter(); rec.recommend(u, 10); ts.append(time.perf_counter() - t)
    inproc = {'p50_ms': round(float(np.percentile(ts, 50)) * 1e3, 3), 'p99_ms': round(float(np.percentile(ts, 99)) * 1e3, 3),
              'recommend_per_s': round(len(ts) / sum(ts), 1), 'calls': a.repeats}
    print(f"in process: {inproc}", file=sys.stderr)
    from recsysmodel.serve import top_items
    ts = []
    for _ in range(a.repeats):
        u = rnd.choice(users); t = time.perf_counter(); top_items(rec, [u], 10); ts.append(time.perf_counter() - t)
    inproc['top_items_p50_ms'] = round(float(np.percentile(ts, 50)) * 1e3, 3)  # the service's own hot path, in process
    served_model = rec.manifest['served']['model']
    del rec
    levels = (1, 8, 32)
    results = [serve(run, b, w, levels, users, a) for b, w in (('off', 1), ('wait', 1), ('auto', 1), ('auto', 2))]
    c1 = {r['batching']: next(l for l in r['levels'] if l['concurrency'] == 1) for r in results if r['workers'] == 1}
    out = {'run': {'run_id': run.name, 'dataset': json.loads((run/'manifest.json').read_text())['dataset']['name'],
                   'served_model': served_model, 'trained_here': trained_here, 'epochs': a.epochs if trained_here else None},
           'in_process': inproc, 'http': results,
           'http_overhead_x': round(c1['auto']['p50_ms'] / inproc['p50_ms'], 2),  # the default, batching auto
           'http_overhead_x_batching_off': round(c1['off']['p50_ms'] / inproc['p50_ms'], 2),
           'client': 'asyncio keep-alive HTTP/1.1, same machine (its CPU is in the figures)',
           'machine': {'cpus': os.cpu_count(), 'python': platform.python_version(), 'platform': platform.platform()},
           'command': 'python bench/serve.py ' + ' '.join(argv if argv is not None else sys.argv[1:])}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2) + '\n')
    print(json.dumps(out, indent=2))

if __name__ == '__main__':
    main()
