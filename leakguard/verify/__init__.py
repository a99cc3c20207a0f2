"""Opt-in live verification: is a leaked credential still accepted by its provider, and whose is it?

Each verifier calls its provider's cheapest read-only identity endpoint on the provider's fixed
official host and answers ``live``, ``revoked`` or ``unknown`` with evidence. Nothing here runs
unless the user asked for ``--verify``.
"""
