"""The house rule: reading order = dependency order. A numbered notebook imports only from notebooks numbered before
it (fast.ai's order: 00 < 00a < 00b < 01 < 02 < 02a < ... < 09), and the generated modules follow the same order, so
the docs site reads front to back with no forward references. index.ipynb (the README: it may show anything) and
nbs/experiments/ (logs that use the finished package) are outside the order."""
import ast, json, re
from pathlib import Path
import pytest
from conftest import ROOT

NBS = ROOT/'nbs'

def numbered():
    "The numbered notebooks, in reading order (file-name order)."
    return sorted(p for p in NBS.glob('[0-9][0-9]*.ipynb'))

def code_of(nb:Path) -> list:
    return [''.join(c['source']) for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'code']

def module_of(nb:Path):
    "The module a notebook exports (its `#| default_exp`), or None."
    for src in code_of(nb):
        m = re.search(r"^#\|\s*default_exp\s+(\S+)", src, re.M)
        if m: return m.group(1)
    return None

def imported(src:str) -> set:
    "The recsysmodel modules a piece of code imports (IPython magics and shell lines are skipped)."
    lines = [l for l in src.splitlines() if not l.lstrip().startswith(('%', '!'))]
    try: tree = ast.parse('\n'.join(lines))
    except SyntaxError: return set()
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            mod = node.module or ''
            if node.level == 1: mod = 'recsysmodel.' + mod if mod else 'recsysmodel'  # generated modules: `from .data import`
            if mod == 'recsysmodel': out |= {a.name for a in node.names}
            elif mod.startswith('recsysmodel.'): out.add(mod.split('.')[1])
        elif isinstance(node, ast.Import):
            out |= {a.name.split('.')[1] for a in node.names if a.name.startswith('recsysmodel.')}
        elif isinstance(node, ast.Call) and getattr(node.func, 'id', None) == '__import__' and node.args \
                and isinstance(node.args[0], ast.Constant) and str(node.args[0].value).startswith('recsysmodel.'):
            out.add(node.args[0].value.split('.')[1])
    return out

def order() -> dict:
    "module -> position of the notebook that exports it."
    return {module_of(nb): i for i, nb in enumerate(numbered()) if module_of(nb)}

def test_every_module_comes_from_a_numbered_notebook():
    mods = {p.stem for p in (ROOT/'recsysmodel').glob('*.py') if not p.name.startswith('_')}
    assert mods == set(order()), (mods, order())

def test_notebooks_import_only_from_earlier_notebooks():
    pos, bad = order(), []
    for i, nb in enumerate(numbered()):
        for src in code_of(nb):
            for mod in imported(src):
                if mod in pos and pos[mod] >= i and mod != module_of(nb):
                    bad.append(f"{nb.name} imports recsysmodel.{mod}, exported by {numbered()[pos[mod]].name}")
    assert not bad, '\n'.join(bad)

def test_modules_import_only_from_earlier_modules():
    pos, bad = order(), []
    for mod, i in pos.items():
        for dep in imported((ROOT/'recsysmodel'/f'{mod}.py').read_text()):
            if dep in pos and pos[dep] >= i and dep != mod: bad.append(f"recsysmodel/{mod}.py imports {dep}")
    assert not bad, '\n'.join(bad)

def test_the_check_can_fail(tmp_path):
    "A forward import is seen (so the tests above can fail)."
    assert imported("from recsysmodel.predict import predict\nimport recsysmodel.cli\nfrom .train import Run") == {'predict', 'cli', 'train'}
    pos = order()
    assert pos['predict'] > pos['runs'] > pos['ranking'] > pos['retrieval'] > pos['data'] > pos['core']

def test_index_states_the_rule():
    text = ' '.join(''.join(c['source']) for c in json.loads((NBS/'index.ipynb').read_text())['cells'])
    assert 'reading order = dependency order' in text.lower()
    for nb in numbered(): assert nb.name in text, f"index.ipynb's layout table lacks {nb.name}"
