"""Publishing for real where it matters: twine uploads to a package index on 127.0.0.1 (pypiserver, password
checked), the CodeArtifact calls go through botocore's Stubber (validated against the service model), and the
uploaded package installs into a fresh virtualenv."""
import datetime as dt, json, os, socket, subprocess, sys, time, urllib.request, venv
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TOKEN = 'eyJ2ZXIiOjEsImlzdSI6MTcwMDAwMDAwMH0.secret-token-value'

def free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

@pytest.fixture(scope='module')
def index(tmp_path_factory):
    "A pypiserver on 127.0.0.1 that accepts uploads from user aws with TOKEN only."
    from passlib.apache import HtpasswdFile
    d = tmp_path_factory.mktemp('index')
    ht = HtpasswdFile(str(d/'htpasswd'), new=True, default_scheme='apr_md5_crypt'); ht.set_password('aws', TOKEN); ht.save()
    (d/'packages').mkdir()
    port = free_port()
    p = subprocess.Popen([str(BIN/'pypi-server'), 'run', '-i', '127.0.0.1', '-p', str(port), '-P', str(d/'htpasswd'), '-a', 'update',
                          '--disable-fallback', '-o', str(d/'packages')], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    for _ in range(100):
        try: urllib.request.urlopen(url + 'simple/', timeout=1); break
        except OSError: time.sleep(0.1)
    else: p.kill(); pytest.fail("pypiserver did not start")
    yield url, d/'packages'
    p.terminate(); p.wait(10)

def stubbed(url, token=TOKEN):
    import boto3
    from botocore.stub import Stubber
    from recsysmodel.publish import DOMAIN, REPOSITORY
    c = boto3.client('codeartifact', region_name='eu-west-1', aws_access_key_id='x', aws_secret_access_key='x')
    s = Stubber(c)
    s.add_response('get_authorization_token', {'authorizationToken': token, 'expiration': dt.datetime(2030, 1, 1)},
                   {'domain': DOMAIN, 'durationSeconds': 900})
    s.add_response('get_repository_endpoint', {'repositoryEndpoint': url}, {'domain': DOMAIN, 'repository': REPOSITORY, 'format': 'pypi'})
    return c, s

@pytest.fixture(scope='module')
def dists(tmp_path_factory):
    out = tmp_path_factory.mktemp('dist')
    subprocess.run([sys.executable, str(ROOT/'tools'/'build_wheel.py'), '--outdir', str(out)], check=True, capture_output=True)
    subprocess.run([sys.executable, '-m', 'build', '--sdist', '--no-isolation', '--outdir', str(out), str(ROOT)], check=True, capture_output=True)
    return out

def test_upload_with_twine_then_pip_install_from_the_index(index, dists, tmp_path, capsys):
    from recsysmodel.publish import upload
    url, packages = index
    c, s = stubbed(url)
    with s: rec = upload([dists], client=c, verbose=True)
    s.assert_no_pending_responses()
    names = sorted(p.name for p in dists.iterdir())
    assert sorted(rec['files']) == names and sorted(p.name for p in packages.iterdir()) == names
    assert rec['gate'] == {} and rec['forced'] is False  # the library wheel bundles no model: nothing to gate
    out = capsys.readouterr()
    assert TOKEN not in out.out + out.err + json.dumps(rec)
    venv.create(tmp_path/'venv', with_pip=True)
    py = tmp_path/'venv'/'bin'/'python'
    r = subprocess.run([str(py), '-m', 'pip', 'install', '--quiet', '--no-deps', '--index-url', url + 'simple/', 'recsysmodel'],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([str(py), '-c', 'import recsysmodel; print(recsysmodel.__version__, recsysmodel.__file__)'],
                       capture_output=True, text=True, cwd=tmp_path)
    version, where = r.stdout.split()
    import recsysmodel
    assert version == recsysmodel.__version__ and Path(where).is_relative_to(tmp_path/'venv')

def test_wrong_token_fails_without_showing_it(index, dists):
    from recsysmodel.publish import PublishError, upload
    c, s = stubbed(index[0], token='not-the-token-0123456789')
    with s, pytest.raises(PublishError) as e: upload([dists], client=c)
    assert 'twine upload' in str(e.value) and 'not-the-token-0123456789' not in str(e.value)

def test_gate_refuses_a_regressed_model_and_force_is_recorded(index, tmp_path):
    from recsysmodel.publish import QualityGateError, upload, wheel_manifest
    from recsysmodel.train import run_training
    run = run_training(dataset='synthetic', epochs=1, out_dir=str(tmp_path/'runs'), track=False, progress=False)
    subprocess.run([sys.executable, str(ROOT/'tools'/'build_wheel.py'), '--model', str(run), '--outdir', str(tmp_path/'dist')],
                   check=True, capture_output=True)
    whl, = (tmp_path/'dist').glob('*.whl')
    m = wheel_manifest(whl)
    assert m['run_id'] == run.name
    better = json.loads(json.dumps(m)); better['run_id'] = 'published-before'
    better['metrics']['served']['ndcg@10'] += 0.1; better['metrics']['ranking']['rmse'] -= 0.1
    import boto3
    from botocore.stub import Stubber
    c = boto3.client('codeartifact', region_name='eu-west-1', aws_access_key_id='x', aws_secret_access_key='x')
    with Stubber(c), pytest.raises(QualityGateError) as e: upload([whl], client=c, previous=better)  # refused before any AWS call
    assert '| previous | served | ndcg@10 |' in str(e.value) and '| previous | ranking | rmse |' in str(e.value)
    c, s = stubbed(index[0])
    with s: rec = upload([whl], client=c, previous=better, force=True)
    assert rec['forced'] is True and rec['gate'][whl.name]['previous_run_id'] == 'published-before'
    assert {(r['check'], r['metric']) for r in rec['gate'][whl.name]['failed']} >= {('previous', 'ndcg@10'), ('previous', 'rmse')}
    assert (index[1]/whl.name).exists()
