"""Updates that reach people: channels (Slack, signed webhooks, email, Statuspage, PagerDuty),
and the engine that delivers every event a channel carries, at least once and never twice
where the remote can tell. See `channel.py` for the contract between the two."""
