"""The domain, pure and synchronous: no awaits, no sockets, no clock reads.

Inputs in, decisions out; time is always a parameter. Imports nothing from the
rest of the package except the leaf ``chatserver.exceptions``.
"""
