"""Follow-through (DESIGN §7): outbound subscriptions, the delivery outbox, escalations, SLA checks and digests.

The top domain layer: lower packages publish domain events on the session's bus and the
composition root subscribes the handlers here, which write the outbox rows.
"""
