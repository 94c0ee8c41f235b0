"""Sandbox mode of a city backend (``CZT_CITY_SANDBOX``): fault injection, a request journal and reset.

``faults`` — what can go wrong and when (seeded, reproducible), and the middleware doing it; ``journal`` — what
the city received; ``reset`` — back to the seeded state; ``router`` — the ``/_admin`` API over all three, behind
the admin token. A city not in sandbox mode has none of it: no ``/_admin`` routes, no extra middleware.
"""
