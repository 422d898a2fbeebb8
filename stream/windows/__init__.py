"""Windows: per-topic one-minute panes summed into event-time windows, their clock, the agent."""
