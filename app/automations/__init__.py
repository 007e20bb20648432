"""Automations: rules (event → conditions → actions) run from the event log, delayed steps
that wait durably, customer events posted by other systems, and the API tokens they use."""
