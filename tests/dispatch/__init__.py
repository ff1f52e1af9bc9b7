"""Tests of signals_app.dispatch, the drop-in for django.dispatch."""
