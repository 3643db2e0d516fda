"""The domain: money, cards, orders and their rules. Pure Python — no I/O, no frameworks."""
