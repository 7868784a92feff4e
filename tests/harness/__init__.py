"""Real services on loopback for tests: an authoritative DNS server, an SMTP server, a network guard.

The pytest fixtures live in ``tests.harness.pytest_plugin``.
"""
