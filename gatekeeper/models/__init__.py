"""Pydantic models: every on-disk and wire format gatekeeper reads or writes."""
