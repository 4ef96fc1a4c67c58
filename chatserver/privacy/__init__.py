"""Personal data and access: one access policy, the audit trail, two-factor sign-in, files
encrypted at rest, data-subject requests and retention (docs/privacy.md)."""
