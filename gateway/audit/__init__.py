"""The hash-chained audit log of every exchange, and the resident's data tracker built on it."""
