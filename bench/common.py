"""What the benchmarks share: ml-latest-small from the data folder, or synthetic data of its size (and which one); what
the machine is (the same code gives other figures on another processor or BLAS kernel)."""
import os, platform, sys
from pathlib import Path
from recsysmodel.data import find_source, load_movielens, synthetic_movielens

def small_movielens(data_dir) -> tuple:
    "(dataset, where it came from): ml-latest-small from `data_dir`, else synthetic data of its size, saying so."
    if find_source('ml-latest-small', data_dir):
        return load_movielens('ml-latest-small', data_dir, download=False), f"ml-latest-small from {data_dir}"
    print(f"ml-latest-small not found in {data_dir}: using synthetic data of its size", file=sys.stderr)
    return synthetic_movielens(610, 9742, 100_836, seed=0), 'synthetic (ml-latest-small size)'

def cpu_model() -> str|None:
    "The processor's model name (/proc/cpuinfo; None where it says none): the kind of processor moves some figures (bench/results/scale.json)."
    try: lines = Path('/proc/cpuinfo').read_text().splitlines()
    except OSError: return platform.processor() or None
    return next((l.split(':', 1)[1].strip() for l in lines if l.startswith('model name')), None) or platform.processor() or None

VECTOR_FLAGS = ('avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx512_bf16', 'amx_tile')

def cpu_flags() -> list|None:
    "Which of the vector instructions that pick BLAS and TensorFlow kernels the processor has (None where /proc/cpuinfo is missing)."
    # virtual machines may all call themselves "AMD EPYC": two of them gave EASE's figures different fifth digits
    try: lines = Path('/proc/cpuinfo').read_text().splitlines()
    except OSError: return None
    have = set(next((l.split(':', 1)[1].split() for l in lines if l.startswith('flags')), []))
    return [f for f in VECTOR_FLAGS if f in have]

def blas() -> list|None:
    "The BLAS libraries loaded in this process, with the kernel each picked for this processor (threadpoolctl; None without it)."
    import numpy, scipy.linalg  # noqa: F401  loaded, so that their libraries are listed
    try: from threadpoolctl import threadpool_info
    except ImportError: return None
    seen = {(i.get('internal_api'), i.get('version'), i.get('architecture')) for i in threadpool_info() if i.get('user_api') == 'blas'}
    return [{'library': lib, 'version': v, 'kernel': k} for lib, v, k in sorted(seen, key=str)]

def machine() -> dict:
    "Cores, Python, the processor's model and vector instructions, the BLAS kernels: what a result's figures were made on."
    return {'cpus': os.cpu_count(), 'python': platform.python_version(), 'cpu': cpu_model(), 'cpu_flags': cpu_flags(), 'blas': blas()}
