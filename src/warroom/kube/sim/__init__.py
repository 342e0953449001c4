"""A local server that speaks the Kubernetes API wire protocol, driven by scenarios.

It lets stock kubectl and the official client run their real code paths (list, watch, logs,
deployments, scale) against a misbehaving cluster on a laptop, in the demo and in tests.
"""

from .clock import ManualClock, SystemClock
from .scenarios import SCENARIOS, Flood, Shop
from .server import Simulator, run
from .state import NASTY_LOG_LINES, ClusterState

__all__ = [
    "NASTY_LOG_LINES",
    "SCENARIOS",
    "ClusterState",
    "Flood",
    "ManualClock",
    "Shop",
    "Simulator",
    "SystemClock",
    "run",
]
