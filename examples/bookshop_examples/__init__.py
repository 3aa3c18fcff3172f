"""Thin example frontends that wire bookshop use cases to a transport."""
