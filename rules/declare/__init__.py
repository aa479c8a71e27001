"""Declare: the rules as users call them (attrs classes of attributes, checked at read time) on one base,
rule.py, which turns each configuration into Steps."""
