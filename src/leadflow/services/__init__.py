"""Services: the use cases, written against the domain and ports (``typing.Protocol``)."""
