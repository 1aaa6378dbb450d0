"""The team stack's compose.yaml (no Docker engine runs on these machines: it is parsed and held to its promises —
loopback ports, healthchecks and start order, secrets only from .env — and .env.example fills every value it needs)."""
import re, subprocess
from pathlib import Path
import yaml

ROOT = Path(__file__).resolve().parents[1]
REF = re.compile(r"\$\{([A-Z0-9_]+)(?::?([-?])([^}]*))?\}")

def compose() -> dict: return yaml.safe_load((ROOT/'compose.yaml').read_text())

def env_example() -> dict:
    return dict(l.split('=', 1) for l in (ROOT/'.env.example').read_text().splitlines() if l and not l.startswith('#'))

def interpolate(value:str, env:dict) -> str:
    "Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}`; an unset required variable raises."
    def one(m):
        name, op, arg = m.groups()
        if env.get(name): return env[name]
        if op == '?': raise KeyError(f"{name}: {arg}")
        return arg if op == '-' else ''
    return REF.sub(one, value.replace('$$', '\0')).replace('\0', '$')

def strings(node):
    if isinstance(node, dict):
        for v in node.values(): yield from strings(v)
    elif isinstance(node, list):
        for v in node: yield from strings(v)
    elif isinstance(node, str): yield node

def test_services_start_in_order_with_healthchecks():
    s = compose()['services']
    assert set(s) == {'mysql', 'minio', 'minio-init', 'mlflow', 'adminer', 'serve'}
    for name in ('mysql', 'minio', 'mlflow'): assert s[name]['healthcheck']['test'], name
    assert s['mysql']['image'].startswith('mysql:8.') and 'mysql-data:/var/lib/mysql' in s['mysql']['volumes']
    assert 'minio-data:/data' in s['minio']['volumes']
    assert s['minio-init']['depends_on'] == {'minio': {'condition': 'service_healthy'}} and s['minio-init']['restart'] == 'no'
    assert 'mc mb --ignore-existing' in ' '.join(s['minio-init']['command'])
    assert s['mlflow']['depends_on'] == {'mysql': {'condition': 'service_healthy'}, 'minio-init': {'condition': 'service_completed_successfully'}}
    assert s['mlflow']['build'] == {'context': 'docker', 'dockerfile': 'mlflow.Dockerfile'}
    df = (ROOT/'docker'/'mlflow.Dockerfile').read_text()
    assert re.search(r"^FROM ghcr\.io/mlflow/mlflow:v\$\{MLFLOW_VERSION\}$", df, re.M) and 'pymysql' in df and 'boto3' in df
    assert '/health' in ' '.join(s['mlflow']['healthcheck']['test'])
    assert s['adminer']['image'].startswith('adminer:')
    # the service serves the registry's champion, from the Dockerfile target without a baked run, once MLflow is up
    assert s['serve']['build'] == {'context': '.', 'target': 'app'}
    assert s['serve']['depends_on'] == {'mlflow': {'condition': 'service_healthy'}}
    assert s['serve']['environment']['MLFLOW_TRACKING_URI'] == 'http://mlflow:5000'
    assert s['serve']['command'] == ['--model', 'models:/${MODEL_NAME:-recsysmodel}@champion']
    assert re.search(r"^FROM python:\$\{PYTHON\}-slim AS app$", (ROOT/'Dockerfile').read_text(), re.M)

def test_every_service_is_healthchecked_or_waits_for_one():
    s = compose()['services']
    for name, svc in s.items():
        if 'healthcheck' in svc: continue
        deps = svc.get('depends_on') or {}
        assert deps and all(d.get('condition') in ('service_healthy', 'service_completed_successfully') for d in deps.values()), name

def test_every_port_listens_on_loopback_only():
    for name, svc in compose()['services'].items():
        for p in svc.get('ports', []): assert str(p).startswith('127.0.0.1:'), (name, p)

def test_secrets_come_from_env_and_never_from_a_command_line():
    s = compose()['services']
    for name, svc in s.items():
        for key, value in (svc.get('environment') or {}).items():
            if re.search(r"PASSWORD|SECRET|ACCESS_KEY|STORE_URI", key):
                assert REF.search(str(value)), (name, key)
                assert not re.search(r"change-me|minioadmin|password", REF.sub('', str(value)), re.I), (name, key)
    mlflow = s['mlflow']
    assert mlflow['environment']['MLFLOW_BACKEND_STORE_URI'].startswith('mysql+pymysql://')
    assert mlflow['environment']['MLFLOW_ARTIFACTS_DESTINATION'].startswith('s3://')
    assert not any('PASSWORD' in a or 'pymysql' in a for a in mlflow['command'])
    ignored = (ROOT/'.gitignore').read_text().splitlines()
    assert '.env' in ignored  # the real secrets never reach git

def test_env_example_fills_every_required_value():
    c = compose()
    names = {m.group(1) for v in strings(c) for m in REF.finditer(v.replace('$$', ''))}
    assert names and names <= set(env_example()), sorted(names - set(env_example()))  # every ${VAR}, defaults or not
    env = env_example()
    resolved = [interpolate(v, env) for v in strings(c)]  # raises on a required variable .env.example lacks
    uri = interpolate(c['services']['mlflow']['environment']['MLFLOW_BACKEND_STORE_URI'], env)
    assert uri == f"mysql+pymysql://{env['MYSQL_USER']}:{env['MYSQL_PASSWORD']}@mysql:3306/{env['MYSQL_DATABASE']}"
    assert all('${' not in v for v in resolved)
    missing = {**env}; missing.pop('MYSQL_PASSWORD')
    try: interpolate(c['services']['mysql']['environment']['MYSQL_PASSWORD'], missing); assert False, "a missing secret must stop compose"
    except KeyError as e: assert 'MYSQL_PASSWORD' in str(e)

def test_make_help_lists_the_stack_verbs():
    out = subprocess.run(['make', '-s', 'help'], cwd=ROOT, capture_output=True, text=True).stdout
    for verb in ('up', 'down', 'train', 'archive', 'test', 'build'): assert re.search(rf"^make {verb} ", out, re.M), verb
    mk = (ROOT/'Makefile').read_text()
    assert 'recsys publish register $(RUN)' in mk and 'papermill --inject-output-path nbs/03_train.ipynb' in mk
    assert not re.search(r"^export MLFLOW_TRACKING_URI", mk, re.M)  # make test never tracks to the stack by accident
