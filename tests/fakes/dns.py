"""A fake DNS for the egress policy's tests: names resolve from a table, so no test asks a real resolver.

`fake_dns` (tests/fakes/pytest_plugin.py) puts a `Resolver` in place of `socket.getaddrinfo` for one test.
"""

import ipaddress
import socket

PUBLIC = "93.184.215.14"  # a public address (example.com's); the tests' connection guards stop any connection to it


class Resolver:
    """A DNS stand-in: `names[host]` is what a name resolves to; `then[host]`, what it resolves to from the second
    lookup on (a rebinding name). Addresses in any spelling the C library accepts (`127.1`, `0x7f.1`) resolve as
    it reads them; any other name does not resolve. `lookups`: every name asked, in order."""

    def __init__(self) -> None:
        self.names: dict[str, list[str]] = {
            "public.example": [PUBLIC],
            "example.com": [PUBLIC],
            "localhost": ["127.0.0.1", "::1"],
            "localhost.": ["127.0.0.1"],
            "rebind.example": ["127.0.0.1"],
            "metadata.google.internal": ["169.254.169.254"],
            "mixed.example": [PUBLIC, "10.0.0.1"],
        }
        self.then: dict[str, list[str]] = {}
        self.lookups: list[str] = []

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in self.names:
            return self.real(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)
        self.lookups.append(name)
        answer = self.then[name] if name in self.then and self.lookups.count(name) > 1 else self.names[name]
        infos = []
        for text in answer:
            address = ipaddress.ip_address(text)
            af = socket.AF_INET if address.version == 4 else socket.AF_INET6
            if family in (0, socket.AF_UNSPEC, af):
                sockaddr = (text, int(port or 0)) if af == socket.AF_INET else (text, int(port or 0), 0, 0)
                infos.append((af, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr))
        return infos

    real = staticmethod(socket.getaddrinfo)
