import sys
from pathlib import Path

import pytest

TRAINING = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TRAINING))
DATASETS = TRAINING.parents[1] / "shared" / "datasets"


@pytest.fixture(scope="session")
def datasets() -> Path:
    if not DATASETS.is_dir():
        raise RuntimeError(f"the shared datasets are expected at {DATASETS}")
    return DATASETS
