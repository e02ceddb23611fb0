"""Prompt templates (Jinja2 in a bounded sandbox) and the token estimate context assembly budgets with."""
