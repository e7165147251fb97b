import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# Two cores: keep torch from oversubscribing when tests run beside the app server.
os.environ.setdefault("OMP_NUM_THREADS", "2")
# Every Ray node a test starts (local instance or multi-node `ray.cluster_utils.Cluster`) binds the
# loopback address 127.0.0.1, never the machine's network address: Ray reads this when it is imported.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models gain nothing from threads; on a shared machine one thread avoids oversubscription."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
