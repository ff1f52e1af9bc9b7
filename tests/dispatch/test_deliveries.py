from typing import get_args

from signals_app.dispatch import DeliveryName, get_delivery


def test_every_delivery_name_the_annotation_allows_is_known_to_the_dispatcher():
    # A name in the Literal that nothing registers would type check and then
    # fail at connect(); the app being loaded, each must resolve.
    for name in get_args(DeliveryName):
        how = get_delivery(name)
        assert name == "now" if how is None else how.name == name
