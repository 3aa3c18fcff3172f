"""The ``bookshop`` operator CLI: a thin click frontend over the shop's use cases."""
