"""Alerts in: the webhooks of Alertmanager and Grafana, read into commands, and what the
server's intake decides to write for them. The server wires these in; the core stays pure."""
