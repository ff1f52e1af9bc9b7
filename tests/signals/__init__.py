"""Tests of signals_app.signals: each built-in signal, on every path Django sends it."""
