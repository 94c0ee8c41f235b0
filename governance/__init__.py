"""Data-sharing governance as pure functions over plain data: the data catalogue, policies, masks, release.

Nothing here does I/O beyond reading a policy file; the gateway (consent, audit, shadow) and the policy
lab (simulation, diff) both build on it.
"""
