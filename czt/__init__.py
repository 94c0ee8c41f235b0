"""The ``czt`` command: seed, run and inspect a local CZT Interop deployment."""
