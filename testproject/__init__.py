"""Example project: uses signals_app as a user would, and hosts the tests."""
