"""Test support: the fault-injecting loopback origin and the media only tests use."""
