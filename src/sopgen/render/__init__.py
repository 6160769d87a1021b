"""Renderers: plain view data in, HTML text or PDF bytes out (no file writes here)."""
