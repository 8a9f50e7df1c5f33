"""The local Supra devnet: an RPC-compatible emulator of lottery_multi, a product of its own.

The bot reaches it only through the chain port, as it would a real node.
"""
