"""The knowledge base: articles, Turkish-aware search, and the service a server runs.

The pure parts (``analyzer``, ``index``, ``articles``, ``folder``) import nothing that
awaits; ``service`` holds the store and the search pool. Import the modules themselves:
this package imports none of them, so the store may use ``articles`` without a circle.
"""
