"""Tests of chatops.notify."""
