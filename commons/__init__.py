"""HTTP plumbing every CZT service shares: problem+json errors and request ids.

It depends on ``schemas`` and third-party packages only; the gateway and the city backends both
build on it, so that an error or a request id looks the same wherever it comes from.
"""
