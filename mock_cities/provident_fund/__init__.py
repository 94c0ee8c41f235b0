"""A city's side of the 公积金 transfer (转移接续): idempotent steps over its ledger and local accounts."""
