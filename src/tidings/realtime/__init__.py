"""Realtime: the event log, the hub and its brokers, and the SSE stream.

Where an event is born: an action calls ``Transaction.emit`` (``tidings.realtime.transaction``).
Where it leaves: ``tidings.realtime.stream`` writes it to each subscribed tab.
"""
