"""README.md is nbs/index.ipynb rendered (Quarto's nbdev_readme cannot run here; tools/readme.py does it)."""
import subprocess, sys
from conftest import ROOT

def test_readme_in_step_with_index_notebook():
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'readme.py'), '--check'], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr

def test_readme_names_the_test_command_ci_runs():
    readme, ci = (ROOT/'README.md').read_text(), (ROOT/'.ci'/'run').read_text()
    assert 'make test' in readme and ci.strip().splitlines()[-1] == 'make test'
