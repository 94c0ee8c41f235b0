"""A city's credential office: issues signed credentials, revokes them, publishes its status list."""
