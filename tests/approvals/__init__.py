"""Tests of the two-person rule on a real redis-server."""
