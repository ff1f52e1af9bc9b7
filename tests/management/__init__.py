"""Tests of the management commands (signals_app/management/commands/)."""
