"""What the benchmarks share: ml-latest-small from the data folder, or synthetic data of its size (and which one)."""
import sys
from recsysmodel.data import find_source, load_movielens, synthetic_movielens

def small_movielens(data_dir) -> tuple:
    "(dataset, where it came from): ml-latest-small from `data_dir`, else synthetic data of its size, saying so."
    if find_source('ml-latest-small', data_dir):
        return load_movielens('ml-latest-small', data_dir, download=False), f"ml-latest-small from {data_dir}"
    print(f"ml-latest-small not found in {data_dir}: using synthetic data of its size", file=sys.stderr)
    return synthetic_movielens(610, 9742, 100_836, seed=0), 'synthetic (ml-latest-small size)'
