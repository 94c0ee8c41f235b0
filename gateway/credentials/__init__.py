"""Credentials through the gateway: obtain, verify anywhere against the trust registry, revoke, 用证码."""
