"""Django signals on a faster dispatcher, with delivery Django never offered."""
