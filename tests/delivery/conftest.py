"""The sync tests' real servers and PostgreSQL cluster, for delivery from `warroom serve`."""

from tests.sync.conftest import pg, server, store  # noqa: F401
