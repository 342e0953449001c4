"""`sim`: the local Kubernetes API-server simulator, in the foreground."""

from __future__ import annotations

import click


@click.command("sim")
@click.option("--port", type=int, default=0, show_default=True, help="0 picks a free port.")
@click.option(
    "--kubeconfig", type=click.Path(dir_okay=False), help="Where to write its kubeconfig."
)
@click.option(
    "--scenario",
    type=click.Choice(["bad-deploy", "healthy", "flood"]),
    default="bad-deploy",
    show_default=True,
)
def sim(port: int, kubeconfig: str | None, scenario: str) -> None:
    """Serve a simulated cluster (kubectl and the console work against it) until Ctrl+C."""
    from warroom.kube.sim import run  # uvicorn and the scenarios load only for this command

    run(port=port, kubeconfig=kubeconfig, scenario=scenario)


COMMANDS: list[click.Command] = [sim]
