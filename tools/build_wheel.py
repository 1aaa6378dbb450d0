"""Build dist/recsysmodel-<version>-py3-none-any.whl, optionally with a training run bundled as package data.

    python tools/build_wheel.py                      # the library alone
    python tools/build_wheel.py --model runs/<id>    # plus that run: predict(20) works right after pip install

The run goes through the run contract (recsysmodel.runs.copy_run): verified first, then only the files its manifest
lists are copied, from the verified bytes, never through a symlink, with a public manifest (no local absolute paths,
no tracking URIs with credentials). The copy lives in recsysmodel/bundled_run/ for the build only and is removed
afterwards (also on failure), so the source tree and later builds never carry it by accident.
"""
import argparse, shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT/'recsysmodel'/'bundled_run'

def build(model=None, outdir=ROOT/'dist') -> Path:
    "Build the wheel (with `model` bundled if given) and return its path."
    if BUNDLE.exists(): shutil.rmtree(BUNDLE)
    shutil.rmtree(ROOT/'build', ignore_errors=True)  # setuptools reuses build/lib: a stale bundle must not ride along
    outdir = Path(outdir); outdir.mkdir(parents=True, exist_ok=True)
    before = set(outdir.glob('*.whl'))
    try:
        if model is not None:
            sys.path.insert(0, str(ROOT))
            from recsysmodel.runs import copy_run, find_run
            copy_run(find_run(model), BUNDLE)
        subprocess.run([sys.executable, '-m', 'build', '--wheel', '--no-isolation', '--outdir', str(outdir), str(ROOT)],
                       check=True, stdout=subprocess.DEVNULL)
    finally:
        if BUNDLE.exists(): shutil.rmtree(BUNDLE)
        shutil.rmtree(ROOT/'build', ignore_errors=True)
    new = sorted(set(outdir.glob('*.whl')) - before) or sorted(outdir.glob('*.whl'), key=lambda p: p.stat().st_mtime)[-1:]
    return new[-1]

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', metavar='RUN', help="run folder (or an out_dir with a `latest` file) to bundle")
    ap.add_argument('--outdir', default=str(ROOT/'dist'), help="where the wheel goes (default: dist/)")
    a = ap.parse_args()
    try: whl = build(a.model, a.outdir)
    except Exception as e:
        from recsysmodel.core import RecsysError
        if not isinstance(e, RecsysError): raise
        sys.exit(f"build_wheel: {e}")
    print(f"built {whl}" + (f" with run {a.model} bundled" if a.model else ''))
