"""chatops."""
