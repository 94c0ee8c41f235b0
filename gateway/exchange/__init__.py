"""The gateway's side of the exchange protocol: the city registry, one client per city, service tokens."""
