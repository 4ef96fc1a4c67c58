"""Reports over time: hourly rollups kept current as chats end, and the figures read from them.

``figures`` is pure (what a chat adds to its hour; a report from summed hours); ``service``
runs the rollup on the hub node. The store's queries are in ``store/reports.py``.
"""
