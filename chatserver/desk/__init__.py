"""The request desk: a request's life after its chat (``core.lifecycle``), its notifications
to the player by e-mail and SMS, and its timers."""
