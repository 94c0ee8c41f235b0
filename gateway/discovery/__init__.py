"""Service discovery: which cities and services the exchange offers, and which of them a caller may use."""
