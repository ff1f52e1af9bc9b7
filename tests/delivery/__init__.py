"""Tests of signals_app.delivery: receivers called after commit, or in a worker."""
