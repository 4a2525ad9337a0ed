"""Test support: a fault-injecting loopback origin server and real test media."""
