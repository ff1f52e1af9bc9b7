"""End-to-end tests: real worker processes, real brokers, databases of their own."""
