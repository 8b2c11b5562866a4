"""End-to-end tests: real servers in subprocesses, real sockets, load and fault injection.

They take a minute or more, so they run only when KOKOROPY_E2E=1 is set:

    KOKOROPY_E2E=1 python3 -m unittest discover -s tests/e2e -t . -v

Without it each test is skipped, saying so. All traffic goes to 127.0.0.1.
"""
