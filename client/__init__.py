"""farmtrace.client: a party's key, and a small HTTP client that signs and submits its events.

    key = PartyKey.generate("91430124MA4L000001")        # or PartyKey.load("coop.key")
    client = Client("https://trace.example", key=key)
    client.record({"kind": "harvest", ...})              # fills party, key_id, follows; signs; posts

The private key never leaves this process: only signed entries and short-lived tokens are sent.
"""

from .client import Client, ClientError
from .keys import PartyKey

__all__ = ["Client", "ClientError", "PartyKey"]
