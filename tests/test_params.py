"""One source of parameter defaults: recsysmodel.train.PARAMETERS. The papermill cell of nbs/03_train.ipynb,
params.example.yaml, `recsys train --help` and the model configurations' defaults must agree with it."""
import json, os, subprocess, sys
from pathlib import Path
import pytest, yaml
from conftest import ROOT
from recsysmodel.train import DEFAULTS, PARAMETERS, ranking_config, retrieval_config, sequence_config, validate_params

def parameters_cell(in_test:bool) -> dict:
    "The variables the papermill `parameters` cell of 03_train defines, run with IN_TEST set or not."
    nb = json.loads((ROOT/'nbs'/'03_train.ipynb').read_text())
    cell, = [c for c in nb['cells'] if 'parameters' in c.get('metadata', {}).get('tags', [])]
    env = {k: v for k, v in os.environ.items() if k != 'IN_TEST'}
    if in_test: env['IN_TEST'] = '1'
    code = ''.join(cell['source']) + "\nimport json\nprint(json.dumps({k: v for k, v in dict(globals()).items() if not k.startswith('_') and isinstance(v, (str, int, float, bool, type(None)))}))"
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=env, check=True)
    return json.loads(r.stdout.splitlines()[-1])

def test_papermill_cell_defaults_are_the_table():
    got = parameters_cell(False)
    names = set(got) - {'IN_TEST', 'PAPERMILL_OUTPUT_PATH'}
    assert names == set(PARAMETERS), names ^ set(PARAMETERS)
    assert {k: got[k] for k in PARAMETERS} == DEFAULTS

def test_papermill_cell_under_nbdev_test_shrinks_only_what_it_says():
    got = parameters_cell(True)
    changed = {k for k in PARAMETERS if got[k] != DEFAULTS[k]}
    assert changed == {'dataset', 'epochs', 'out_dir', 'track', 'progress'}
    assert (got['dataset'], got['epochs'], got['track']) == ('synthetic', 1, False)

def test_example_yaml_is_the_table():
    d = yaml.safe_load((ROOT/'params.example.yaml').read_text())
    assert d == DEFAULTS, {k: (d.get(k), DEFAULTS.get(k)) for k in set(d) | set(DEFAULTS) if d.get(k) != DEFAULTS.get(k)}

def test_train_help_lists_every_parameter_with_its_default():
    r = subprocess.run([str(Path(sys.executable).parent/'recsys'), 'train', '--help'], capture_output=True, text=True)
    help = ' '.join(r.stdout.split())
    for name, (default, t, _) in PARAMETERS.items():
        flag = '--quiet' if name == 'progress' else '--' + name.replace('_', '-')
        assert flag in help, flag
        if name != 'progress': assert f"(default: {default})" in help, (name, default)

def test_model_configurations_default_to_the_table():
    from recsysmodel.retrieval import RetrievalConfig
    from recsysmodel.ranking import RankingConfig
    from recsysmodel.sequence import SequenceConfig
    assert retrieval_config(validate_params()) == RetrievalConfig()
    assert ranking_config(validate_params()) == RankingConfig()
    assert sequence_config(validate_params()) == SequenceConfig()
    assert sequence_config(validate_params(sequence_length_buckets=True, tune_users=0)) == SequenceConfig(length_buckets=True, tune_users=None)
    assert retrieval_config(validate_params(epochs=3, retrieval_epochs=5)).epochs == 5  # per-model epochs override
    assert ranking_config(validate_params(epochs=3, retrieval_epochs=5)).epochs == 3

def test_retrieval_history_length_reaches_the_configuration_and_is_checked():
    from recsysmodel.core import ParameterError
    assert retrieval_config(validate_params(retrieval_history_length=25)).history_length == 25
    assert retrieval_config(validate_params()).history_length is None  # the query's own default, resolved on the training data
    for bad in (0, -3):
        with pytest.raises(ParameterError, match=f"parameter retrieval_history_length must be positive, got {bad}"):
            validate_params(retrieval_history_length=bad)
    with pytest.raises(ParameterError, match="retrieval_history_length must be at least 5 for query latest .* got 3"):
        validate_params(query='latest', retrieval_history_length=3)  # before any data is read, not when the model is built
    assert validate_params(query='gap-mixture', retrieval_history_length=3)['retrieval_history_length'] == 3  # 2 a side

def test_drift_would_be_caught(monkeypatch):
    "The comparisons above can fail: a changed default in the table no longer matches the YAML or the configurations."
    monkeypatch.setitem(DEFAULTS, 'epochs', 20)
    assert yaml.safe_load((ROOT/'params.example.yaml').read_text()) != DEFAULTS
    from recsysmodel.retrieval import RetrievalConfig
    assert retrieval_config(validate_params(retrieval_dim=64)) != RetrievalConfig()
