"""Moved to `core.audit` (the audit trail is on the ground floor now); this re-export is temporary.

New code imports `core.audit` and `core.audit_verify`; this module goes once nothing imports it.
"""

from core.audit import AUDIT_CHAIN_LOCK, GENESIS_HASH, audit_record, canonical, event_hash
from core.audit_verify import ChainReport, audit_chain_verify

__all__ = ["AUDIT_CHAIN_LOCK", "GENESIS_HASH", "ChainReport", "audit_chain_verify", "audit_record", "canonical",
           "event_hash"]
