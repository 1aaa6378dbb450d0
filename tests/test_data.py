"""Every malformed input gets its clear error; the download path against a real HTTP server on 127.0.0.1;
the parsed-data cache. The worked examples of the API are in nbs/00_data.ipynb."""
import hashlib, http.server, os, shutil, socket, threading, warnings, zipfile
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
import recsysmodel.data as rd
from recsysmodel.data import (ChecksumError, DataError, DownloadError, download_movielens, load_movielens,
                              write_movielens)
from conftest import ROOT, snapshot

# ---------------------------------------------------------------- malformed files, one case each

def _lines_edit(edit):
    "A file edit: apply `edit` to the list of text lines."
    def apply(p: Path):
        lines = p.read_text(encoding='latin-1').splitlines()
        p.write_text('\n'.join(edit(lines)) + '\n', encoding='latin-1')
    return apply

def _write(data: bytes):
    return lambda p: p.write_bytes(data)

def _replace_line(i, text): return _lines_edit(lambda ls: ls[:i] + [text] + ls[i + 1:])

CASES = [  # (dataset, file, edit, expected message part, line, field)
    ('ml-latest-small', 'ratings.csv', lambda p: p.unlink(), 'ratings.csv: missing file', None, None),
    ('ml-latest-small', 'movies.csv', lambda p: p.unlink(), 'movies.csv: missing file', None, None),
    ('ml-latest-small', 'ratings.csv', _write(b''), 'file is empty', None, None),
    ('ml-latest-small', 'ratings.csv', _write(b'userId,movieId,rating,timestamp\r\n'), 'no rows after the header', None, None),
    ('ml-latest-small', 'ratings.csv', _replace_line(0, 'user,movie,rating,timestamp'), "missing ['userId', 'movieId']", 1, None),
    ('ml-latest-small', 'ratings.csv', _lines_edit(lambda ls: [','.join(l.split(',')[:3]) for l in ls]), "missing ['timestamp']", 1, None),
    ('ml-latest-small', 'ratings.csv', _lines_edit(lambda ls: [l.replace(',', ';') for l in ls]), "looks ';'-separated, expected ','", 1, None),
    ('ml-latest-small', 'ratings.csv', _lines_edit(lambda ls: [l.replace(',', '\t') for l in ls]), "looks '\\t'-separated", 1, None),
    ('ml-latest-small', 'ratings.csv', _replace_line(3, 'x1,31,2.5,1260759144'), "'x1' is not an integer", 4, 'userId'),
    ('ml-latest-small', 'ratings.csv', _replace_line(5, '1,3.5e,2.5,1260759144'), "'3.5e' is not an integer", 6, 'movieId'),
    ('ml-latest-small', 'ratings.csv', _replace_line(7, '1,99999999999,2.5,1260759144'), 'out of the int32 range', 8, 'movieId'),
    ('ml-latest-small', 'ratings.csv', _replace_line(2, '1,31,5.5,1260759144'), 'rating 5.5 is outside the scale (0.5-5', 3, 'rating'),
    ('ml-latest-small', 'ratings.csv', _replace_line(2, '1,31,3.3,1260759144'), 'rating 3.3 is outside the scale', 3, 'rating'),
    ('ml-latest-small', 'ratings.csv', _replace_line(2, '1,31,0,1260759144'), 'rating 0 is outside the scale', 3, 'rating'),
    ('ml-latest-small', 'ratings.csv', _replace_line(4, '1,31,,1260759144'), 'empty value', 5, 'rating'),
    ('ml-latest-small', 'ratings.csv', _replace_line(4, ',31,4,1260759144'), 'empty value', 5, 'userId'),
    ('ml-latest-small', 'ratings.csv', _replace_line(6, '1,31'), 'expected 4 fields', 7, None),
    ('ml-latest-small', 'ratings.csv', _replace_line(6, '1,31,4,5,6'), 'found 5', 7, None),
    ('ml-latest-small', 'ratings.csv', _replace_line(6, '1,-31,4,1260759144'), 'id must be positive', 7, 'movieId'),
    ('ml-latest-small', 'ratings.csv', _replace_line(6, '1,31,4,-5'), 'negative timestamp', 7, 'timestamp'),
    ('ml-latest-small', 'ratings.csv', _replace_line(6, ''), 'blank line', 7, None),
    ('ml-latest-small', 'ratings.csv', lambda p: p.write_bytes(p.read_bytes()[:p.read_bytes().rindex(b',')]), 'expected 4 fields', None, None),  # cut mid-row
    ('ml-latest-small', 'ratings.csv', lambda p: p.write_bytes(p.read_bytes() + bytes(range(256)) * 4), 'line', None, None),
    ('ml-latest-small', 'ratings.csv', _write(bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8))), 'ratings.csv', None, None),
    ('ml-latest-small', 'movies.csv', _replace_line(3, 'abc,Some Movie (1999),Drama'), "'abc' is not an integer", 4, 'movieId'),
    ('ml-latest-small', 'movies.csv', _lines_edit(lambda ls: ls + [ls[1]]), 'appears twice', None, None),
    ('ml-latest-small', 'movies.csv', _lines_edit(lambda ls: ls[:1] + ls[2:]), 'is not in movies.csv', None, None),
    ('ml-100k', 'u.data', _replace_line(2, '1\t31\t6\t881250949'), 'rating 6 is outside the scale (whole stars 1-5)', 3, 'rating'),
    ('ml-100k', 'u.data', _replace_line(2, '1\t31\t3.5\t881250949'), 'rating 3.5 is outside the scale', 3, 'rating'),
    ('ml-100k', 'u.data', _lines_edit(lambda ls: [l.replace('\t', ',') for l in ls]), "expected 4 fields separated by '\\t'", 1, None),
    ('ml-100k', 'u.item', _replace_line(4, '5|Movie (1995)|01-Jan-1995||http://x'), 'expected 24 fields', 5, None),
    ('ml-100k', 'u.item', _lines_edit(lambda ls: [ls[0].rsplit('|', 1)[0] + '|7'] + ls[1:]), 'genre flags must be 0 or 1', 1, 'genres'),
    ('ml-1m', 'ratings.dat', _replace_line(3, '1::31::4:978300760'), 'expected 4 fields', 4, None),
    ('ml-1m', 'ratings.dat', _replace_line(3, '1::31::x::978300760'), "'x' is not a number", 4, 'rating'),
    ('ml-1m', 'movies.dat', _replace_line(2, '3::Title only'), 'expected 3 fields', 3, None),
]

@pytest.mark.parametrize('name,member,edit,message,line,field', CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[3][:28]}" for c in CASES])
def test_malformed_file(tmp_path, small, isolated_env, name, member, edit, message, line, field):
    write_movielens(small, tmp_path/'data', name)
    edit(tmp_path/'data'/name/member)
    before = snapshot(tmp_path/'data')
    with pytest.raises(DataError) as e: load_movielens(name, tmp_path/'data', download=False)
    assert message in str(e.value)
    assert isinstance(e.value, ValueError)
    assert member in str(e.value)  # the message names the file
    if line is not None: assert (e.value.line, e.value.field) == (line, field), str(e.value)
    assert snapshot(tmp_path/'data') == before  # nothing written beside the data
    assert not list(isolated_env.glob(f"{name}-*"))  # and no cache entry for bad data

def _zip_of(small, tmp_path, name='ml-latest-small') -> Path:
    write_movielens(small, tmp_path/'src', name, zip=True)
    return tmp_path/'src'/f"{name}.zip"

@pytest.mark.parametrize('damage,message', [
    (lambda b: b[:len(b) // 2], 'corrupt or incomplete zip'),
    (lambda b: b'just text, not a zip', 'corrupt or incomplete zip'),
    (lambda b: b'', 'corrupt or incomplete zip'),
])
def test_corrupt_zip(tmp_path, small, damage, message):
    z = _zip_of(small, tmp_path)
    (tmp_path/'data').mkdir(); bad = tmp_path/'data'/'ml-latest-small.zip'
    bad.write_bytes(damage(z.read_bytes()))
    before = snapshot(tmp_path/'data')
    with pytest.raises(DataError, match=message) as e: load_movielens('ml-latest-small', tmp_path/'data', download=False)
    assert 'ml-latest-small.zip' in str(e.value)
    assert snapshot(tmp_path/'data') == before

def test_zip_with_bad_crc(tmp_path, small):
    "Flipped bytes inside a member's compressed data are caught, not parsed as data."
    write_movielens(small, tmp_path/'src', 'ml-latest-small')
    (tmp_path/'data').mkdir(); z = tmp_path/'data'/'ml-latest-small.zip'
    with zipfile.ZipFile(z, 'w', zipfile.ZIP_STORED) as f:
        for m in ('ratings.csv', 'movies.csv'): f.write(tmp_path/'src'/'ml-latest-small'/m, f"ml-latest-small/{m}")
    data = bytearray(z.read_bytes()); i = data.index(b'userId') + 200
    data[i:i + 1] = b'7' if data[i:i + 1] != b'7' else b'8'
    z.write_bytes(bytes(data))
    with pytest.raises(DataError, match='corrupt zip member'): load_movielens('ml-latest-small', tmp_path/'data', download=False, verify=False)

def test_zip_missing_member(tmp_path, small):
    write_movielens(small, tmp_path/'src', 'ml-latest-small')
    (tmp_path/'data').mkdir()
    with zipfile.ZipFile(tmp_path/'data'/'ml-latest-small.zip', 'w') as f:
        f.write(tmp_path/'src'/'ml-latest-small'/'movies.csv', 'ml-latest-small/movies.csv')
    with pytest.raises(DataError, match=r'ml-latest-small.zip:ml-latest-small/ratings.csv: missing file'):
        load_movielens('ml-latest-small', tmp_path/'data', download=False)

def test_unknown_name_and_missing_dataset(tmp_path):
    with pytest.raises(DataError, match='valid names: ml-latest-small, ml-100k, ml-1m, ml-20m, ml-25m, ml-32m'):
        load_movielens('ml-10m', tmp_path)
    with pytest.raises(FileNotFoundError) as e: load_movielens('ml-25m', tmp_path/'empty', download=False)
    assert 'ml-25m' in str(e.value) and str(tmp_path/'empty') in str(e.value)
    assert not (tmp_path/'empty').exists()

def test_folder_wins_over_zip(tmp_path, small):
    other = rd.synthetic_movielens(20, 50, 300, seed=9)
    write_movielens(small, tmp_path, 'ml-latest-small')
    write_movielens(other, tmp_path/'z', 'ml-latest-small', zip=True)
    shutil.move(tmp_path/'z'/'ml-latest-small.zip', tmp_path/'ml-latest-small.zip')
    assert len(load_movielens('ml-latest-small', tmp_path, download=False).ratings) == len(small.ratings)
    shutil.rmtree(tmp_path/'ml-latest-small')
    assert len(load_movielens('ml-latest-small', tmp_path, download=False, verify=False).ratings) == len(other.ratings)

def test_env_data_dir(tmp_path, small, monkeypatch):
    write_movielens(small, tmp_path, 'ml-1m')
    monkeypatch.setenv('RECSYS_DATA_DIR', str(tmp_path))
    ds = load_movielens('ml-1m', download=False)
    assert ds.name == 'ml-1m' and len(ds.ratings) == len(small.ratings)

# ---------------------------------------------------------------- the parsed-data cache

def test_cache_is_used_and_invalidated(tmp_path, small, monkeypatch, isolated_env):
    write_movielens(small, tmp_path, 'ml-latest-small')
    first = load_movielens('ml-latest-small', tmp_path, download=False)
    def no_parsing(*a, **k): raise AssertionError("parsed although cached")
    monkeypatch.setattr(rd, 'parse_ratings', no_parsing)
    again = load_movielens('ml-latest-small', tmp_path, download=False)  # must come from the cache
    pd.testing.assert_frame_equal(again.ratings, first.ratings)
    assert again.items.genres.tolist() == first.items.genres.tolist()
    assert again.checksums == first.checksums
    with open(tmp_path/'ml-latest-small'/'ratings.csv', 'a') as f: f.write('999,%d,4.0,1\n' % small.items.item_id.iloc[0])
    with pytest.raises(AssertionError, match='parsed although cached'):  # a changed file is parsed again
        load_movielens('ml-latest-small', tmp_path, download=False)
    assert not list(isolated_env.glob('.tmp-*'))  # no half-written entries

def test_cache_can_be_off_or_unwritable(tmp_path, small, monkeypatch):
    write_movielens(small, tmp_path, 'ml-100k')
    load_movielens('ml-100k', tmp_path, download=False, cache=False)
    assert not (tmp_path/'cache').exists()
    (tmp_path/'blocker').write_text('a file where the cache folder should be')
    monkeypatch.setenv('RECSYS_CACHE_DIR', str(tmp_path/'blocker'/'cache'))
    with pytest.warns(UserWarning, match='cache not written'):
        ds = load_movielens('ml-100k', tmp_path, download=False)
    assert len(ds.ratings) == len(small.ratings)

# ---------------------------------------------------------------- downloads from a real local HTTP server

class _Server:
    "A threaded HTTP server on 127.0.0.1 serving fixed routes: path -> (status, body, declared length or None)."
    def __init__(self, routes):
        self.routes, self.hits = routes, []
        outer = self
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.hits.append(self.path)
                status, body, length = outer.routes.get(self.path, (404, b'not found', None))
                self.send_response(status)
                self.send_header('Content-Length', str(length if length is not None else len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *a): pass
        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
    def close(self): self.httpd.shutdown(); self.httpd.server_close()

@pytest.fixture
def server(tmp_path, small):
    good = _zip_of(small, tmp_path).read_bytes()
    bad_rows = rd.synthetic_movielens(20, 40, 200, seed=2)
    bad_rows.ratings.loc[3, 'rating'] = 7.0
    write_movielens(bad_rows, tmp_path/'bad', 'ml-latest-small', zip=True)
    bad = (tmp_path/'bad'/'ml-latest-small.zip').read_bytes()
    s = _Server({'/good.zip': (200, good, None), '/half.zip': (200, good[:len(good) // 2], None),
                 '/bad-rows.zip': (200, bad, None), '/error.zip': (500, b'boom', None),
                 '/cut.zip': (200, good[:1000], len(good))})
    s.sha = {k: hashlib.sha256(v[1]).hexdigest() for k, v in s.routes.items()}
    yield s
    s.close()

def test_download_good_zip(tmp_path, small, server, capsys):
    data = tmp_path/'data'
    ds = load_movielens('ml-latest-small', data, url=server.url + '/good.zip', sha256=server.sha['/good.zip'])
    pd.testing.assert_frame_equal(ds.ratings, small.ratings)
    assert sorted(p.name for p in data.iterdir()) == ['ml-latest-small.zip']  # no .part file left
    assert rd.sha256_file(data/'ml-latest-small.zip') == server.sha['/good.zip']
    assert 'ml-latest-small.zip' in capsys.readouterr().err  # the progress bar
    load_movielens('ml-latest-small', data, url=server.url + '/good.zip', sha256=server.sha['/good.zip'])  # present now: no second download
    assert server.hits == ['/good.zip']

def test_download_movielens_function(tmp_path, server):
    p = download_movielens('ml-latest-small', tmp_path, url=server.url + '/good.zip', sha256=server.sha['/good.zip'], progress=False)
    assert p == tmp_path/'ml-latest-small.zip' and rd.sha256_file(p) == server.sha['/good.zip']

def test_download_checks_the_pinned_checksum(tmp_path, server):
    "Without an explicit sha256 the pinned GroupLens value applies: a synthetic zip does not match it."
    with pytest.raises(ChecksumError, match='does not match the pinned 696d65a3'):
        load_movielens('ml-latest-small', tmp_path/'data', url=server.url + '/good.zip', progress=False)
    assert not (tmp_path/'data').exists()

@pytest.mark.parametrize('route,sha_of,error,message', [
    ('/good.zip', '/half.zip', ChecksumError, 'does not match'),
    ('/half.zip', '/half.zip', DataError, 'corrupt or incomplete zip'),
    ('/bad-rows.zip', '/bad-rows.zip', DataError, 'rating 7 is outside the scale'),
    ('/error.zip', '/error.zip', DownloadError, 'HTTP 500'),
    ('/cut.zip', '/cut.zip', DownloadError, 'failed'),
])
def test_download_failures_leave_nothing(tmp_path, server, route, sha_of, error, message):
    (tmp_path/'data').mkdir()
    with pytest.raises(error, match=message):
        load_movielens('ml-latest-small', tmp_path/'data', url=server.url + route, sha256=server.sha[sha_of], progress=False)
    assert list((tmp_path/'data').iterdir()) == []

def test_download_connection_refused(tmp_path):
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]  # a port nobody listens on
    with pytest.raises(DownloadError, match='failed'):
        load_movielens('ml-100k', tmp_path/'data', url=f"http://127.0.0.1:{port}/x.zip", progress=False)
    assert not (tmp_path/'data').exists()

def test_unpinned_dataset_warns_with_its_checksum(tmp_path, small):
    write_movielens(small, tmp_path/'src', 'ml-32m', zip=True)
    body = (tmp_path/'src'/'ml-32m.zip').read_bytes()
    s = _Server({'/ml-32m.zip': (200, body, None)})
    try:
        with pytest.warns(UserWarning, match=hashlib.sha256(body).hexdigest()):
            ds = load_movielens('ml-32m', tmp_path/'data', url=s.url + '/ml-32m.zip', progress=False)
    finally: s.close()
    assert len(ds.ratings) == len(small.ratings) and (tmp_path/'data'/'ml-32m.zip').is_file()

# ---------------------------------------------------------------- the real files, when this machine has them

REAL = Path(os.environ.get('RECSYS_REAL_DATA', ROOT.parent/'shared'/'data'))

@pytest.mark.skipif(not (REAL/'ml-latest-small').is_dir(), reason=f"no real MovieLens copy at {REAL}")
def test_real_ml_latest_small(tmp_path):
    ds = load_movielens('ml-latest-small', REAL, download=False)
    assert (len(ds.ratings), ds.n_users, len(ds.items), ds.ratings.item_id.nunique()) == (100_836, 610, 9_742, 9_724)
    assert ds.checksums['ratings.csv'] == 'aa289ca83157595d0df6aea1be6a4ded676ddc4385472e8313a8ed9805352646'
    assert abs(float(ds.ratings.rating.mean()) - 3.5016) < 1e-4
    toy = ds.items.set_index('item_id').loc[1]
    assert (toy.title, toy.genres, toy.year) == ('Toy Story (1995)', ['Adventure', 'Animation', 'Children', 'Comedy', 'Fantasy'], 1995)
    shutil.copy(REAL/'ml-latest-small.zip', tmp_path)  # the pinned GroupLens zip, read in place
    z = load_movielens('ml-latest-small', tmp_path, download=False)
    assert z.checksums == {'ml-latest-small.zip': rd.DATASETS['ml-latest-small'].sha256}
    pd.testing.assert_frame_equal(z.ratings, ds.ratings)

def test_atomic_write_gives_files_the_permissions_open_would(tmp_path):
    import os
    from recsysmodel.core import atomic_write
    old = os.umask(0o022)
    try:
        atomic_write(tmp_path/'a.json', '{}')
        with open(tmp_path/'b.json', 'w') as f: f.write('{}')
    finally: os.umask(old)
    assert (tmp_path/'a.json').stat().st_mode & 0o777 == (tmp_path/'b.json').stat().st_mode & 0o777 == 0o644

# ---------------------------------------------------------------- untrusted zips, local checksums, the cache, concurrency

def test_local_zip_is_checked_against_the_pinned_sha256(tmp_path, small):
    "A zip already on disk is held to the same pinned sha256 as a download; the error names both digests."
    z = _zip_of(small, tmp_path, 'ml-1m'); shutil.rmtree(z.parent/'ml-1m')  # the zip alone (a folder would win over it)
    mine = rd.sha256_file(z)
    with pytest.raises(ChecksumError) as e: load_movielens('ml-1m', z.parent, download=False)
    assert mine in str(e.value) and rd.DATASETS['ml-1m'].sha256 in str(e.value) and 'verify=False' in str(e.value)
    assert len(load_movielens('ml-1m', z.parent, download=False, verify=False).ratings) == len(small.ratings)
    assert len(load_movielens('ml-1m', z.parent, download=False, sha256=mine).ratings) == len(small.ratings)

def test_cli_no_verify_flag(tmp_path, small, isolated_env):
    import subprocess, sys
    z = _zip_of(small, tmp_path, 'ml-1m'); shutil.rmtree(z.parent/'ml-1m')
    recsys = [str(Path(sys.executable).parent/'recsys'), 'data', '--dataset', 'ml-1m', '--data-dir', str(z.parent), '--no-download']
    env = {**os.environ, 'RECSYS_CACHE_DIR': str(isolated_env)}
    r = subprocess.run(recsys, capture_output=True, text=True, env=env)
    assert r.returncode == 1 and 'does not match the pinned' in r.stderr and 'Traceback' not in r.stderr
    r = subprocess.run(recsys + ['--no-verify'], capture_output=True, text=True, env=env)
    assert r.returncode == 0 and f"{len(small.ratings):,} ratings" in r.stdout

ZIP_BOMB = """
import sys
from recsysmodel.data import load_movielens, DataError
try: load_movielens('ml-latest-small', sys.argv[1], download=False, verify=False)
except DataError as e: print('refused:', e)
hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]  # ru_maxrss would carry pytest's peak across fork+exec
print('maxrss_mb', int(hwm.split()[1]) // 1024)
"""

def test_zip_bomb_is_refused_in_bounded_memory(tmp_path):
    "A member declaring 1 GiB of zeros (1 MB compressed) is a DataError before anything is decompressed."
    import subprocess, sys, zlib
    z = tmp_path/'ml-latest-small.zip'
    with zipfile.ZipFile(z, 'w', zipfile.ZIP_DEFLATED, compresslevel=9) as f:
        f.writestr('ml-latest-small/movies.csv', 'movieId,title,genres\n1,A (1999),Drama\n')
        with f.open('ml-latest-small/ratings.csv', 'w', force_zip64=True) as m:
            chunk = b'0' * (1 << 24)
            for _ in range(64): m.write(chunk)  # 1 GiB of '0', deflated to about 1 MB
    assert z.stat().st_size < 5_000_000
    r = subprocess.run([sys.executable, '-c', ZIP_BOMB, str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert 'refused:' in r.stdout and 'ml-latest-small/ratings.csv expands' in r.stdout, r.stdout + r.stderr[-2000:]
    rss = int(r.stdout.split('maxrss_mb')[1])
    assert rss < 600, f"{rss} MB resident: the member was decompressed"  # python, numpy, pandas and pyarrow take ~150 MB

def test_corrupt_cache_entry_is_rebuilt_not_trusted(tmp_path, small, isolated_env):
    write_movielens(small, tmp_path, 'ml-1m')
    first = load_movielens('ml-1m', tmp_path, download=False)
    entry, = [p for p in isolated_env.glob('ml-1m-*') if p.is_dir()]
    (entry/'ratings.parquet').write_bytes(b'PAR1 not really parquet PAR1')
    with pytest.warns(UserWarning, match='is unusable'):
        again = load_movielens('ml-1m', tmp_path, download=False)
    pd.testing.assert_frame_equal(again.ratings, first.ratings)
    import pyarrow.parquet as pq
    import json
    meta = json.loads((entry/'meta.json').read_text())
    assert pq.read_metadata(entry/'ratings.parquet').num_rows == meta['rows']['ratings'] == len(small.ratings)
    # a valid Parquet file of the wrong shape (a renamed column) is caught by the schema check
    t = pq.read_table(entry/'ratings.parquet'); pq.write_table(t.rename_columns(['uid', 'item_id', 'rating', 'timestamp']), entry/'ratings.parquet')
    with pytest.warns(UserWarning, match='columns'):
        pd.testing.assert_frame_equal(load_movielens('ml-1m', tmp_path, download=False).ratings, first.ratings)

FIRST_LOAD = """
import sys, time
import recsysmodel.data as rd
parse = rd.parse_ratings
def counted(*a, **kw):
    print('parsed', flush=True); return parse(*a, **kw)
rd.parse_ratings = counted
from recsysmodel.data import load_movielens
t0 = float(sys.argv[2])
while time.time() < t0: time.sleep(0.001)  # both processes start together
ds = load_movielens('ml-1m', sys.argv[1], download=False)
print(len(ds.ratings))
"""

def test_concurrent_first_loads_share_one_cache_entry(tmp_path, isolated_env):
    "Two processes loading the same dataset for the first time: both succeed, one builds the entry, no temporary folders remain."
    import subprocess, sys, time
    big = rd.synthetic_movielens(2_000, 1_000, 200_000, seed=3, integer_ratings=True)
    write_movielens(big, tmp_path, 'ml-1m')
    env = {**os.environ, 'RECSYS_CACHE_DIR': str(isolated_env)}
    start = time.time() + 3
    ps = [subprocess.Popen([sys.executable, '-c', FIRST_LOAD, str(tmp_path), str(start)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, env=env) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in ps]
    assert [p.returncode for p in ps] == [0, 0], [o[1][-2000:] for o in outs]
    assert sorted(o[0].split()[-1] for o in outs) == [str(len(big.ratings))] * 2
    assert sum(o[0].split().count('parsed') for o in outs) == 1  # the second waited for the first's entry instead of parsing again
    assert not any('unusable' in o[1] or 'not written' in o[1] for o in outs), [o[1][-1000:] for o in outs]
    assert len([p for p in isolated_env.glob('ml-1m-*') if p.is_dir()]) == 1
    assert not list(isolated_env.glob('.tmp-*'))
