"""The serving container's Dockerfile (Docker is not on these machines: the GitHub workflow's `image` job builds and
smoke-tests it; here it is parsed and held to what the README promises)."""
import json, re, shlex
from pathlib import Path
import yaml

ROOT = Path(__file__).resolve().parents[1]

def instructions(text:str) -> list:
    "(INSTRUCTION, arguments) pairs, continuation lines joined, comments and the parser directive dropped."
    out, buf = [], ''
    for line in text.splitlines():
        if not buf and (not line.strip() or line.lstrip().startswith('#')): continue
        if line.rstrip().endswith('\\'): buf += line.rstrip()[:-1] + ' '; continue
        buf += line
        word, _, rest = buf.strip().partition(' ')
        out.append((word.upper(), rest.strip())); buf = ''
    assert not buf, "a continuation line at the end"
    return out

def stages(ins) -> dict:
    "Stage name -> its instructions (a FROM opens a stage)."
    out, name = {}, None
    for word, rest in ins:
        if word == 'FROM':
            m = re.fullmatch(r"(\S+)\s+AS\s+(\S+)", rest, re.I)
            assert m, f"every stage is named: FROM {rest}"
            name = m.group(2); out[name] = [('FROM', m.group(1))]
        elif name is not None: out[name].append((word, rest))
    return out

def test_dockerfile_is_multi_stage_slim_non_root_with_a_healthcheck():
    text = (ROOT/'Dockerfile').read_text()
    ins = instructions(text)
    known = {'ARG', 'FROM', 'RUN', 'COPY', 'ENV', 'WORKDIR', 'USER', 'EXPOSE', 'HEALTHCHECK', 'ENTRYPOINT', 'CMD', 'STOPSIGNAL', 'LABEL'}
    assert {w for w, _ in ins} <= known, {w for w, _ in ins} - known
    st = stages(ins)
    assert list(st) == ['build', 'app', 'serve'], list(st)  # serve, the default target, is last
    for name in ('build', 'app'): assert re.fullmatch(r"python:\$\{PYTHON\}-slim", st[name][0][1]), (name, st[name][0])
    assert st['serve'][0] == ('FROM', 'app'), st['serve'][0]
    assert re.search(r"^ARG PYTHON=3\.11$", text, re.M)
    app, final = st['app'], st['serve']
    # app holds the wheel from the build stage and nothing else from the context; serve adds the run folder only
    assert [r for w, r in app if w == 'COPY'] == ['--from=build /dist/ /tmp/wheels/']
    assert [r for w, r in final if w == 'COPY'] == ['${RUN} /srv/run']
    assert any(w == 'RUN' and 'pip install /tmp/wheels/*.whl' in r and 'rm -rf /tmp/wheels' in r for w, r in app)
    assert any(w == 'RUN' and 'recsys show --verify --artifacts /srv/run' in r for w, r in final), "the run is verified at build time"
    # a non-root user, set after every RUN of app, and never switched back in serve
    words = [w for w, _ in app]
    assert [r for w, r in app if w == 'USER'] == ['recsys'] and words.index('USER') > max(i for i, w in enumerate(words) if w == 'RUN')
    assert not any(w == 'USER' for w, _ in final)
    assert any(w == 'RUN' and 'useradd' in r and '--system' in r and 'recsys' in r for w, r in app)
    # HEALTHCHECK on /healthz (inherited by serve), exec-form entrypoints on the container's port
    hc = next(r for w, r in app if w == 'HEALTHCHECK')
    assert '/healthz' in hc and hc.split('CMD', 1)[1].strip().startswith('[')
    port = next(r for w, r in app if w == 'EXPOSE')
    ep = json.loads(next(r for w, r in final if w == 'ENTRYPOINT'))
    assert ep[:2] == ['recsys', 'serve'] and ep[ep.index('--artifacts') + 1] == '/srv/run' and ep[ep.index('--port') + 1] == port
    ep_app, cmd_app = json.loads(next(r for w, r in app if w == 'ENTRYPOINT')), json.loads(next(r for w, r in app if w == 'CMD'))
    assert ep_app[:2] == ['recsys', 'serve'] and ep_app[ep_app.index('--port') + 1] == port and '--artifacts' not in ep_app
    assert cmd_app == ['--model', 'models:/recsysmodel@champion']  # the registry's champion
    env = ' '.join(r for w, r in app if w == 'ENV')
    assert 'TF_USE_LEGACY_KERAS=1' in env and 'RECSYS_MODEL_CACHE=/tmp/' in env  # a cache the non-root user can write
    # the build stage builds the wheel from the package sources only
    assert any(w == 'RUN' and 'python -m build --wheel --outdir /dist' in r for w, r in st['build'])

def test_dockerignore_keeps_the_checkout_out_and_the_runs_in():
    ignored = [l.strip() for l in (ROOT/'.dockerignore').read_text().splitlines() if l.strip() and not l.startswith('#')]
    for p in ('.git', '.venv', 'nbs', 'tests', 'dist'): assert p in ignored
    assert not any(p.startswith('runs') or p == 'recsysmodel' for p in ignored)

def test_make_image_and_the_workflow_job_that_builds_and_smoke_tests_it():
    mk = (ROOT/'Makefile').read_text()
    assert re.search(r"^image:", mk, re.M) and 'docker build --build-arg RUN=$(RUN)' in mk
    wf = yaml.safe_load((ROOT/'.github'/'workflows'/'test.yaml').read_text())
    job = wf['jobs']['image']
    runs = '\n'.join(s.get('run', '') for s in job['steps'])
    assert 'make image' in runs and 'docker run -d' in runs and '-p 127.0.0.1:8080:8080' in runs
    assert '/readyz' in runs and '/v1/recommendations/' in runs and 'docker stop' in runs
    assert "'{{.State.ExitCode}}' serve)\" = 0" in runs  # SIGTERM drains and exits 0
