"""Moved to `core.audit_verify`; this re-export is temporary (see compliance/audit.py)."""

from core.audit_verify import ChainReport, audit_chain_verify

__all__ = ["ChainReport", "audit_chain_verify"]
