"""Dictation: a client of the daemon that types its finals into the focused window.

The daemon never types; this separate process subscribes to it over D-Bus, turns spoken
commands into keys, and keeps a ledger of what it typed, so "scratch that" undoes exactly.
"""
