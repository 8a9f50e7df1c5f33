"""Block Kit for chatops's messages and views: pure functions, no I/O, no client."""
