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


@pytest.fixture(autouse=True)
def _main_module_kept():
    """An AppTest leaves its generated script as `sys.modules["__main__"]`; a process spawned later (a test
    of concurrent writers) then runs that script first and dies. Each test ends with the real one back."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


def _cuda() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except ImportError:
        return False


def pytest_collection_modifyitems(config, items):
    """Tests marked `cuda` need a GPU: without one they are deselected (the summary says how many and why)
    unless the run asked for them by marker (`-m cuda`, as bench/gpu_check.sh does), when they fail."""
    if "cuda" in (config.getoption("markexpr") or "") or not any(i.get_closest_marker("cuda") for i in items):
        return
    if _cuda():
        return
    gone = [i for i in items if i.get_closest_marker("cuda")]
    items[:] = [i for i in items if not i.get_closest_marker("cuda")]
    config.hook.pytest_deselected(items=gone)
    config._explorer_no_cuda = len(gone)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    n = getattr(config, "_explorer_no_cuda", 0)
    if n:
        terminalreporter.write_line(f"{n} CUDA test(s) deselected: no CUDA device here; bench/gpu_check.sh runs "
                                    "them on a GPU machine", yellow=True)
