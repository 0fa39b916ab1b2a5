"""What earn announces to the apps above it (notifications), sent inside the business transaction.

Receivers connect in their `AppConfig.ready`; earn does not know who listens. Sent with `send`, not
`send_robust`: a receiver that fails fails the transaction, as the direct call it replaces did.
"""

from django.dispatch import Signal

subscription_confirmed = Signal()
"""kwargs: subscription."""

redemption_confirmed = Signal()
"""kwargs: redemption."""

launch_settled = Signal()
"""kwargs: product_id, user_ids (the customers one settle batch of a launch allocated and refunded)."""

refusal_recorded = Signal()
"""kwargs: refusal (a compliance refusal record the customer may act on)."""
