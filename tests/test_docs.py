"""The docs pages can be checked here: `make docs` (tools/docs.py) processes every notebook into _proc/ (what
nbdev_docs hands to Quarto), and the sidebar lists every notebook, so no page is built but unreachable."""
import subprocess, sys
from pathlib import Path
import yaml
from conftest import ROOT

def notebooks() -> set:
    return {p.relative_to(ROOT/'nbs').as_posix() for p in (ROOT/'nbs').rglob('*.ipynb')
            if not {'_proc', '.ipynb_checkpoints'} & set(p.parts)}

def test_make_docs_produces_every_page():
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'docs.py')], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    pages = {p.relative_to(ROOT/'_proc').as_posix() for p in (ROOT/'_proc').rglob('*.ipynb')}
    assert notebooks() <= pages, notebooks() - pages
    assert f"processed {len(pages)} notebook pages" in r.stdout

def test_sidebar_lists_every_notebook_in_reading_order():
    def flat(items):
        for it in items:
            if isinstance(it, dict): yield from flat(it.get('contents', []))
            else: yield it
    listed = list(flat(yaml.safe_load((ROOT/'nbs'/'sidebar.yml').read_text())['website']['sidebar']['contents']))
    assert set(listed) == notebooks(), set(listed) ^ notebooks()
    numbered = [n for n in listed if n[0].isdigit()]
    assert numbered == sorted(numbered)  # the docs read in dependency order
    quarto = yaml.safe_load((ROOT/'nbs'/'_quarto.yml').read_text())
    assert 'sidebar.yml' in quarto['metadata-files']
