"""An audit trail of the shop, kept by receivers of signals_app's signals.

The pattern a user's project follows: one app listens to another app's
models through lazy "app_label.Model" senders, connected from its
AppConfig.ready().
"""
