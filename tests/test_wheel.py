"""The wheel: built with a run bundled, installed into a fresh virtualenv outside the repo (not editable), it serves
`predict(20)`-style calls with no other files."""
import json, os, shutil, subprocess, sys, sysconfig, venv, zipfile
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
ENV = {k: v for k, v in os.environ.items() if k not in ('RECSYS_ARTIFACTS', 'PYTHONPATH', 'IN_TEST')}

@pytest.fixture(scope='module')
def run(synthetic_run): return synthetic_run  # conftest's run, shared with other modules: copied before it is changed

def build(tmp_path, *args):
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'build_wheel.py'), '--outdir', str(tmp_path/'dist'), *map(str, args)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    whl, = (tmp_path/'dist').glob('recsysmodel-*-py3-none-any.whl')
    return whl

def fresh_venv(folder) -> Path:
    "A virtualenv whose third-party packages come from this one (a plain path entry: its .pth files, such as the editable install's, are not run)."
    venv.create(folder, with_pip=True)
    py = folder/'bin'/'python'
    purelib = subprocess.check_output([str(py), '-c', "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip()
    Path(purelib, '_deps_from_dev_env.pth').write_text(sysconfig.get_paths()['purelib'] + '\n')
    return py

def test_builder_refuses_a_run_that_fails_its_checks(tmp_path, run):
    bad = tmp_path/'bad'; shutil.copytree(run, bad)
    (bad/'extra.txt').write_text('added after the run was written')
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'build_wheel.py'), '--outdir', str(tmp_path/'dist'), '--model', str(bad)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode != 0 and 'extra.txt is not listed' in r.stderr and 'Traceback' not in r.stderr
    assert not (ROOT/'recsysmodel'/'bundled_run').exists() and not list((tmp_path/'dist').glob('*.whl'))
    (bad/'extra.txt').unlink(); (bad/'link').symlink_to(bad/'items.parquet')
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'build_wheel.py'), '--outdir', str(tmp_path/'dist'), '--model', str(bad)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode != 0 and 'link is a symlink' in r.stderr

def test_library_wheel_has_no_bundled_run(tmp_path):
    names = zipfile.ZipFile(build(tmp_path)).namelist()
    assert 'recsysmodel/predict.py' in names and 'recsysmodel/train.py' in names
    assert not [n for n in names if 'bundled_run' in n]
    assert not (ROOT/'recsysmodel'/'bundled_run').exists()

def test_wheel_with_bundled_run_predicts_in_a_fresh_venv(tmp_path, run):
    whl = build(tmp_path, '--model', run)
    assert not (ROOT/'recsysmodel'/'bundled_run').exists()  # the bundle never stays in the source tree
    names = zipfile.ZipFile(whl).namelist()
    assert {'recsysmodel/bundled_run/manifest.json', 'recsysmodel/bundled_run/models/retrieval/saved_model.pb'} <= set(names)
    # only the run's listed files, and a manifest without local paths (the run was written under tmp_path)
    listed = json.loads((run/'manifest.json').read_text())['files']
    assert {n.removeprefix('recsysmodel/bundled_run/') for n in names if '/bundled_run/' in n} == set(listed) | {'manifest.json'}
    bundled = zipfile.ZipFile(whl).read('recsysmodel/bundled_run/manifest.json').decode()
    assert str(run.parent) not in bundled and '/tmp' not in bundled
    py = fresh_venv(tmp_path/'venv')
    r = subprocess.run([str(py), '-m', 'pip', 'install', '--quiet', '--no-deps', '--no-index', str(whl)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    user = json.loads((run/'encoding.json').read_text())['user_ids'][0]
    work = tmp_path/'elsewhere'; work.mkdir()  # no runs/ here, no repo on the path: only the installed wheel
    code = ("import json, recsysmodel; from recsysmodel.predict import predict; "
            f"print(json.dumps([recsysmodel.__file__, predict({user})]))")
    r = subprocess.run([str(py), '-c', code], capture_output=True, text=True, cwd=work, env=ENV, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    where, (titles, scores) = json.loads(r.stdout.strip().splitlines()[-1])
    assert Path(where).is_relative_to(tmp_path/'venv')
    from recsysmodel.predict import predict
    want_titles, want_scores = predict(user, artifacts=run)
    assert titles == want_titles and scores == pytest.approx(want_scores, abs=1e-3) and len(titles) == 5
    # the console script of the installed wheel, and $RECSYS_ARTIFACTS taking precedence over the bundle
    r = subprocess.run([str(tmp_path/'venv'/'bin'/'recsys'), 'predict', '--user', str(user), '-k', '5'], capture_output=True,
                       text=True, cwd=work, env=ENV, timeout=300)
    assert r.returncode == 0 and [l.split(None, 3)[3] for l in r.stdout.splitlines()[2:]] == titles, r.stderr[-2000:]
    r = subprocess.run([str(py), '-c', code], capture_output=True, text=True, cwd=work, env={**ENV, 'RECSYS_ARTIFACTS': str(work/'none')})
    assert r.returncode != 0 and 'RECSYS_ARTIFACTS' in r.stderr
