"""Cryptography of IPS: sealing secrets at rest, password hashes, signed form tokens."""
