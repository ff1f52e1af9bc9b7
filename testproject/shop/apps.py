from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "testproject.shop"
    label = "shop"
    verbose_name = "Shop"

    def ready(self) -> None:
        """Connect the shop's receivers, as a user's app would in ready()."""
