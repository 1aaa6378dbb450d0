"""The baselines reproduce the figures measured on the real ml-latest-small (issue 3's bar), when this machine
has the data (../shared/data, or RECSYS_REAL_DATA). About 45 s on 2 cores."""
import os
from pathlib import Path
import pytest
from recsysmodel.data import load_movielens
from recsysmodel.evaluation import evaluate
from conftest import ROOT

REAL = Path(os.environ.get('RECSYS_REAL_DATA', ROOT.parent/'shared'/'data'))
pytestmark = pytest.mark.skipif(not (REAL/'ml-latest-small').is_dir(), reason=f"no real MovieLens copy at {REAL}")

@pytest.fixture(scope='module')
def real(): return load_movielens('ml-latest-small', REAL, download=False)

def test_random_80_20_protocol_baselines(real):
    m = evaluate(real, 'random-80-20', progress=False).metrics
    assert m['most_popular']['top_100_accuracy'] == pytest.approx(0.156, abs=0.005)
    assert m['bias']['rmse'] == pytest.approx(0.875, abs=0.005)
    assert m['ease']['hr@10'] >= 0.095 - 0.005 and m['ease']['hr@100'] >= 0.354 - 0.005
    assert m['ease']['hr@10'] > m['item_cooccurrence']['hr@10'] > m['most_popular']['hr@10']
    assert m['bias']['rmse'] < m['global_mean']['rmse']

def test_leave_last_out_baselines(real):
    m = evaluate(real, 'leave-last-out', progress=False).metrics
    assert m['most_popular']['hr@10'] == pytest.approx(0.043, abs=0.005)
    assert m['most_popular']['ndcg@10'] == pytest.approx(0.019, abs=0.005)
    assert m['ease']['hr@10'] >= 0.085 - 0.005 and m['ease']['ndcg@10'] >= 0.041 - 0.005
