"""Alerts: rules that judge closed windows against each topic's baseline, and the agent."""
