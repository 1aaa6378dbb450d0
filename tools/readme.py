"""Write README.md from nbs/index.ipynb (nbdev_readme needs Quarto, which these machines cannot install).

Markdown cells are copied as they are; code cells become ```python blocks without their `#|` directive lines;
`#| hide` cells are left out. `python tools/readme.py --check` exits 1 when README.md is out of step.
"""
import json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def render(nb_path=ROOT/'nbs'/'index.ipynb') -> str:
    "The README text for the index notebook."
    parts = []
    for cell in json.loads(Path(nb_path).read_text(encoding='utf-8'))['cells']:
        lines = ''.join(cell['source']).splitlines()
        if cell['cell_type'] == 'markdown': parts.append('\n'.join(lines))
        elif cell['cell_type'] == 'code':
            if any(l.replace(' ', '') in ('#|hide', '#|export', '#|exporti') for l in lines): continue
            code = '\n'.join(l for l in lines if not l.startswith('#|')).strip()
            if code: parts.append(f"```python\n{code}\n```")
    return '\n\n'.join(parts).strip() + '\n'

if __name__ == '__main__':
    text, readme = render(), ROOT/'README.md'
    if '--check' in sys.argv[1:]:
        ok = readme.exists() and readme.read_text(encoding='utf-8') == text
        print('README.md is in step with nbs/index.ipynb' if ok else 'README.md is out of step: run `make readme`')
        sys.exit(0 if ok else 1)
    readme.write_text(text, encoding='utf-8')
    print(f"wrote {readme.relative_to(ROOT)}")
