"""The pure domain: no IO, no UI, no network. Everything here is a function of its inputs."""
