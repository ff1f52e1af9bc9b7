"""Example app whose models exercise every kind of relation signals travel."""
