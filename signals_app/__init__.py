"""Django signals on a faster dispatcher, with delivery Django never offered."""

#: The release, read by setup.cfg (``attr:``) and by the documentation.
__version__ = "0.2.0"
