"""Policy enforcement on every exchange: decide, check consent, audit, compare with the shadow policy."""
