"""The three mock city backends (长沙, 株洲, 湘潭), and any further city added by configuration.

A city is a profile (code, name, rules, which local dialect its systems speak), a database in that
dialect's local schema, and the app factory :func:`mock_cities.app.create_city_app` that serves the
canonical exchange API over it.
"""
