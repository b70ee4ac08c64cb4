"""Netvisor's integration API: request signing, hardened XML parsing, and the client that uses them."""
