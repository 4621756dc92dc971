# -*- coding: utf-8 -*-
"""Run wstest (Python 2) with every listening socket bound to 127.0.0.1.

wstest's server modes (fuzzingserver, echoserver, testeeserver) listen on
all interfaces whatever host the -w/--wsuri or spec url names. This wrapper
patches the reactor so that a listen on the empty interface ('' = all)
becomes a listen on loopback, then hands over to wstest's own command line:

    PYENV_VERSION=2.7.18 python autobahn/wstest_loopback.py -m fuzzingserver -s SPEC -u 0

Arguments are exactly wstest's. An explicit non-empty interface is kept.
"""
import sys

# Must come first: installs the epoll reactor before anything imports
# twisted.internet.reactor (this is what the wstest entry point does too).
import autobahntestsuite.choosereactor  # noqa: F401
from twisted.internet import reactor

LOOPBACK = '127.0.0.1'


def _loopback_only(listen):
    def wrapped(port, factory, *args, **kwargs):
        args = list(args)
        # Twisted signatures: listenTCP(port, factory, backlog=50, interface='')
        #                     listenSSL(port, factory, ctx, backlog=50, interface='')
        idx = 2 if listen.__name__ == 'listenSSL' else 1
        if 'interface' in kwargs:
            if not kwargs['interface']:
                kwargs['interface'] = LOOPBACK
        elif len(args) > idx:
            if not args[idx]:
                args[idx] = LOOPBACK
        else:
            kwargs['interface'] = LOOPBACK
        return listen(port, factory, *args, **kwargs)
    wrapped.__name__ = listen.__name__
    return wrapped


reactor.listenTCP = _loopback_only(reactor.listenTCP)
reactor.listenSSL = _loopback_only(reactor.listenSSL)

from autobahntestsuite import wstest  # noqa: E402

if __name__ == '__main__':
    sys.argv[0] = 'wstest'
    sys.exit(wstest.run())
