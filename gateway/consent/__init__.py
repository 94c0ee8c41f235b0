"""Residents' consent (授权/撤回): grants to officials or API clients, and the lookup enforcement relies on."""
