"""Who is calling: residents, city officials and API clients; the tokens the gateway issues them."""
