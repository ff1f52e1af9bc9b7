"""Side-by-side benchmarks of signals_app against the dispatchers it replaces."""
