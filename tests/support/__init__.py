"""Helpers shared by the tests: constants, request builders, factories, waiting. Fixtures stay in conftest.py."""
