"""Tests of csguard running against the XAPI simulator, end to end."""
