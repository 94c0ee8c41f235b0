"""The unified gateway (一网通办): one login, one API over every city in the registry."""
