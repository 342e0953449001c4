"""`run()`, the foreground server behind `warroom sim`: a live clock, a kubeconfig, one line
saying how to use it, and a clean exit on SIGTERM."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any


def test_run_serves_a_live_cluster_until_terminated(
    tmp_path: Path, lines: Any, streams: list, kubectl_for: Any
) -> None:
    config = tmp_path / "kubeconfig"
    code = f"from warroom.kube.sim import run; run(0, {str(config)!r}, 'bad-deploy')"
    server = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert server.stdout is not None
        banner = lines(server.stdout).until(lambda seen: len(seen) == 1)[0].decode()
        assert "listening on http://127.0.0.1:" in banner
        assert f"kubeconfig written to {config}; try: KUBECONFIG={config} kubectl get pods" in (
            banner
        )
        kubectl = kubectl_for(config)
        assert "CrashLoopBackOff" in kubectl("get", "pods").stdout
        frontend = kubectl("get", "pods", "-l", "app=frontend", "-o", "name").stdout.split()[0]
        follower, followed = kubectl.stream("logs", "-f", "--tail=0", frontend)
        streams.append(follower)
        # No clock is advanced by hand here: the ticker follows the wall clock.
        followed.until(lambda seen: len(seen) >= 2, timeout=5)
    finally:
        server.terminate()
        assert server.wait(timeout=10) == 0
