"""Unified social credit codes for member org codes: the registry's names for the one
validator, :mod:`gateway.uscc` (GB 32100 check character, department/type table, upper case
only), so a member id and a legal person's code are judged alike."""

from __future__ import annotations

from gateway.uscc import ALPHABET, LENGTH, check_character, is_valid_uscc, uscc_problem

__all__ = ["ALPHABET", "LENGTH", "check_character", "is_valid_uscc", "uscc_problem"]
