import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# Two cores: keep torch from oversubscribing when tests run beside the app server.
os.environ.setdefault("OMP_NUM_THREADS", "2")
