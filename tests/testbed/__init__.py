"""Network-namespace testbed (root only): see :mod:`tests.testbed.topology`.

``topology.py``  Topology/Node/Link, build/teardown, shaping (tbf), silent routers,
                 ``run_in``/``exec_in``, stale-namespace cleanup, the reference topology.
``harness.py``   run ``agent.py`` commands in a namespace (as root or as nobody), ``crowd``.
``agent.py``     the programs started inside namespaces (HTTP server, sink, bulk sender,
                 path discovery and probing clients that print JSON).
``conftest.py``  module-scoped fixtures that always tear the testbed down.
"""
