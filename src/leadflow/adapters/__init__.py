"""Adapters: files, databases and outside services, translated to and from the domain."""
