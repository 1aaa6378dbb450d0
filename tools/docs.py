"""Process every notebook into a docs page (`_proc/`), the step `nbdev_docs` runs before Quarto renders the site;
render it too when Quarto is installed.

    python tools/docs.py        # or: make docs

`nbdev_proc_nbs` would first try to install Quarto (with sudo and a download, which these machines cannot do) and
then `pip install -e` the project into whichever pip is first on PATH; this calls nbdev's processing directly. The
site itself is rendered by .github/workflows/docs.yaml. nbdev 2 reads `_quarto.yml` from the notebooks folder
(`nbs/_quarto.yml`), so it stays there.
"""
import os, shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def main() -> int:
    os.chdir(ROOT)
    from nbdev.serve import proc_nbs
    proc_nbs(n_workers=min(2, os.cpu_count() or 1))
    pages = sorted(p.relative_to(ROOT/'_proc').as_posix() for p in (ROOT/'_proc').rglob('*.ipynb'))
    print(f"processed {len(pages)} notebook pages into _proc/")
    if shutil.which('quarto'):  # what nbdev_docs does after processing: render in _proc/, move the site to _docs/
        r = subprocess.run(['quarto', 'render', '--no-cache'], cwd=ROOT/'_proc')
        if r.returncode: return r.returncode
        shutil.rmtree(ROOT/'_docs', ignore_errors=True); shutil.move(str(ROOT/'_proc'/'_docs'), str(ROOT/'_docs'))
        print("rendered the site into _docs/"); return 0
    print("Quarto is not installed here: the pages are in _proc/; .github/workflows/docs.yaml renders and publishes the site")
    return 0

if __name__ == '__main__': sys.exit(main())
