"""ContextIQ: a self-hosted memory service for AI agents (sessions, memories, generation)."""

__version__ = "0.1.0"
