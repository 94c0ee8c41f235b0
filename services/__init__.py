"""City-side domain rules, one package per public-service domain, parameterised by city settings."""
