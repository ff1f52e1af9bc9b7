"""Tests of signals_app, run against testproject.settings."""
