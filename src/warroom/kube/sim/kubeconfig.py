"""A kubeconfig pointing kubectl and the python client at the simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def kubeconfig(
    server: str, token: str | None, context: str = "warroom-sim", namespace: str = "shop"
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": server}}],
        "users": [{"name": context, "user": {"token": token} if token else {}}],
        "contexts": [
            {
                "name": context,
                "context": {"cluster": context, "user": context, "namespace": namespace},
            }
        ],
        "current-context": context,
        "preferences": {},
    }


def write_kubeconfig(path: str | Path, config: dict[str, Any]) -> Path:
    """Write it readable only by the owner, as kubectl does (it may hold a token)."""
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.touch(mode=0o600, exist_ok=True)
    target.write_text(yaml.safe_dump(config, sort_keys=False))
    return target
