"""Opening the console: kubectl's flags for its cluster panes, and the terminal check."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TypedDict

import click

from warroom.cli.context import Ctx, Failure
from warroom.store import StoreError

if TYPE_CHECKING:
    from click.decorators import FC

    from warroom.kube.gateway import Target


class KubeFlags(TypedDict):
    """What `kube_options` adds to a command's keyword arguments."""

    kubeconfig: str | None
    kube_context: str | None
    namespace: str | None
    selector: str | None
    all_namespaces: bool


def kube_options(command: FC) -> FC:
    """kubectl's flags for the console's pods and logs panes."""
    for option in reversed(
        [
            click.option("--kubeconfig", type=click.Path(dir_okay=False), help="Kubeconfig."),
            click.option("--context", "kube_context", help="Kubeconfig context."),
            click.option("--namespace", "-n", help="Namespace (default: the context's)."),
            click.option("--selector", "-l", help="Label selector for pods."),
            click.option("--all-namespaces", "-A", is_flag=True, help="Pods of every namespace."),
        ]
    ):
        command = option(command)
    return command


def kube_target(
    kubeconfig: str | None,
    kube_context: str | None,
    namespace: str | None,
    selector: str | None,
    all_namespaces: bool,
) -> Target | None:
    """A cluster to show, or None when there is no kubeconfig anywhere (the panes say how)."""
    from warroom.kube.gateway import Target, kubeconfig_files

    if not kubeconfig_files(kubeconfig):
        return None
    return Target(kubeconfig, kube_context, namespace, selector or "", all_namespaces)


def open_console(ctx: Ctx, ref: str | None, kube: Target | None = None) -> None:
    """Run the full-screen console (imported here: Textual is only loaded when needed)."""
    from warroom import gcpause

    gcpause.hold()  # until the first frame (the app releases it)
    from warroom.tui.app import WarroomApp

    if not sys.stdout.isatty():
        raise Failure("the console needs a terminal; use `warroom show` in scripts")
    try:
        incident = ctx.log.timeline.resolve(ref) if ref else ctx.log.latest_open()
    except StoreError as exc:
        raise Failure(str(exc)) from None
    first = None
    if incident is not None:  # read before the UI runs: the first frame draws the incident
        from warroom.tui.messages import CONSOLE_FILTER, read_view

        try:
            first = read_view(ctx.log, incident, CONSOLE_FILTER, None)
        except StoreError as exc:
            raise Failure(str(exc)) from None
    WarroomApp(ctx.log, ctx.settings, incident, actor=ctx.actor, kube=kube, first=first).run()
