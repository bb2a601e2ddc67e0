#!/usr/bin/env python3
"""Render the nginx configuration of WhatsApp Hub from deploy/nginx/*.conf.in.

    deploy/render.py site [--set NAME=VALUE ...] [-o FILE]
        the site for Debian's nginx (/etc/nginx/sites-available/whatsapp-hub), included in its http {} block
    deploy/render.py standalone --set PREFIX=/path [--set NAME=VALUE ...] [-o FILE]
        a whole nginx.conf around the site for an nginx run by any user with its own prefix directory (its
        temporary directories are created); start it with `nginx -p PREFIX -c PREFIX/nginx.conf -e PREFIX/error.log`

Variables come from --set, else from the environment (NGINX_<NAME>), else DEFAULTS in this file. Standard library
only: it runs without the hub's virtualenv. deploy/nginx/whatsapp-hub.conf is `render.py site` with the defaults
(tests/deploy/test_nginx.py keeps the two equal).

Loopback on ports of your choice, no TLS (e.g. a topology test):

    deploy/render.py standalone --set PREFIX=/tmp/hub-nginx --set TLS=off --set LISTEN=127.0.0.1:8080 \\
        --set SERVER_NAME=127.0.0.1 --set GUNICORN=127.0.0.1:8100,127.0.0.1:8101 \\
        --set DAPHNE=127.0.0.1:8200,127.0.0.1:8201 --set STATIC_ROOT=$PWD/staticfiles -o /tmp/hub-nginx/nginx.conf
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

DEFAULTS = {
    # The public name; with TLS on, the certificate's (Let's Encrypt's layout by default).
    "SERVER_NAME": "hub.example.com",
    # TLS terminated here (on), or plain HTTP (off: loopback, or a TLS load balancer in front; set the hub's
    # TRUST_X_FORWARDED_PROTO accordingly).
    "TLS": "on",
    # Where the site listens: a port or address:port. Default: 443 with TLS, 80 without.
    "LISTEN": "",
    # With TLS: where plain HTTP is redirected from ("" for no redirect server).
    "HTTP_LISTEN": "80",
    "TLS_CERT": "/etc/letsencrypt/live/${SERVER_NAME}/fullchain.pem",
    "TLS_KEY": "/etc/letsencrypt/live/${SERVER_NAME}/privkey.pem",
    # Comma-separated upstream servers: host:port or unix:/path. gunicorn serves HTTP, daphne /ws/.
    "GUNICORN": "127.0.0.1:8000,127.0.0.1:8010",
    "DAPHNE": "127.0.0.1:8001,127.0.0.1:8002",
    # STATIC_ROOT of the hub (collectstatic's output).
    "STATIC_ROOT": "/srv/whatsapp-hub/static",
    # The hub's largest body (a 100 MB document + its multipart envelope) and its webhook/JSON limit.
    "MAX_BODY": "101m",
    "MACHINE_MAX_BODY": "3m",
    # Default: nginx's own log (Debian: /var/log/nginx/access.log); standalone: PREFIX/access.log.
    "ACCESS_LOG": "",
    # standalone only
    "PREFIX": "",
    "MIME_TYPES": "/etc/nginx/mime.types",
    "WORKER_PROCESSES": "auto",
    # standalone started by root only: the workers' user (nginx's default, nobody, may not read PREFIX or
    # STATIC_ROOT). Ignored otherwise: the workers run as whoever started nginx.
    "WORKER_USER": "",
}

# The only forwarded headers the hub trusts, set by nginx whatever the client sent:
# - Host: as the client sent it, port included (the hub's absolute URLs keep a non-standard port); the hub checks
#   it against ALLOWED_HOSTS.
# - X-Forwarded-For: replaced by the address nginx sees (not appended to): the hub reads it with NUM_PROXIES=1, the
#   last and only entry. Appending would leave the client's own value first, which any other reader might take.
#   With a load balancer in front of nginx, let nginx's realip module put the client in $remote_addr
#   (set_real_ip_from <the balancer>; real_ip_header X-Forwarded-For;) and keep NUM_PROXIES=1.
# - X-Forwarded-Proto: the scheme the client used (TRUST_X_FORWARDED_PROTO: https makes request.is_secure()).
# - X-Request-ID: nginx's id of the request (in its access log too), replacing any the client sent.
# The others a client may send are removed: the hub does not read them, and gunicorn would trust a forged
# X-Forwarded-Ssl/-Protocol from nginx's address (its secure_scheme_headers) and refuse the request (400).
PROXY_HEADERS = """\
proxy_set_header Host $http_host;
proxy_set_header X-Forwarded-For $remote_addr;
proxy_set_header X-Forwarded-Proto $scheme;
proxy_set_header X-Request-ID $request_id;
proxy_set_header X-Forwarded-Host "";
proxy_set_header X-Forwarded-Port "";
proxy_set_header X-Forwarded-Server "";
proxy_set_header X-Forwarded-Protocol "";
proxy_set_header X-Forwarded-Ssl "";
proxy_set_header X-Url-Scheme "";
proxy_set_header X-Real-IP "";
proxy_set_header Forwarded "";"""

# gunicorn kills a worker silent for 60 s (deploy/gunicorn.conf.py): nginx waits a little longer, so that a request
# that slow gets gunicorn's 502, not a 504 while it still runs.
HTTP_TIMEOUTS = """\
proxy_connect_timeout 5s;
proxy_read_timeout 65s;
proxy_send_timeout 65s;
proxy_next_upstream error timeout;"""

TLS_SETTINGS = """\
ssl_certificate ${TLS_CERT};
ssl_certificate_key ${TLS_KEY};
ssl_protocols TLSv1.2 TLSv1.3;
ssl_prefer_server_ciphers off;
ssl_session_cache shared:whatsapp_hub_tls:10m;
ssl_session_timeout 1d;
ssl_session_tickets off;"""

NAME = re.compile(r"^[A-Z_]+$")
UPSTREAM = re.compile(r"^(unix:/\S+|[A-Za-z0-9.\-]+:\d{1,5}|\[[0-9A-Fa-f:]+\]:\d{1,5})$")


PLACEHOLDER = re.compile(r"\$\{([A-Z_]+)\}")


def substitute(text: str, values: dict[str, str]) -> str:
    """${NAME} replaced by values[NAME] (an unknown name is an error); nginx's own $variables are left alone."""

    def value(match: re.Match) -> str:
        try:
            return values[match.group(1)]
        except KeyError:
            raise SystemExit(f"Unknown placeholder ${{{match.group(1)}}}.") from None

    return PLACEHOLDER.sub(value, text)


def _indent(text: str, spaces: int) -> str:
    return "\n".join((" " * spaces + line) if line else line for line in text.splitlines())


def _servers(value: str, name: str) -> str:
    servers = [item.strip() for item in value.split(",") if item.strip()]
    if not servers:
        raise SystemExit(f"{name} names no server.")
    for server in servers:
        if not UPSTREAM.match(server):
            raise SystemExit(f"{name}: {server!r} is not host:port or unix:/path.")
    return "\n".join(f"    server {server};" for server in servers)


def variables(given: dict[str, str], environ: dict[str, str]) -> dict[str, str]:
    values = {}
    for name, default in DEFAULTS.items():
        values[name] = given.get(name, environ.get(f"NGINX_{name}", default))
    unknown = set(given) - set(DEFAULTS)
    if unknown:
        raise SystemExit(f"Unknown variable(s): {', '.join(sorted(unknown))}. Known: {', '.join(DEFAULTS)}.")
    for name in ("TLS_CERT", "TLS_KEY"):
        values[name] = substitute(values[name], {"SERVER_NAME": values["SERVER_NAME"]})
    tls = values["TLS"].lower()
    if tls not in {"on", "off"}:
        raise SystemExit(f"TLS must be on or off, not {values['TLS']!r}.")
    listen = values["LISTEN"] or ("443" if tls == "on" else "80")
    if tls == "on":
        values["LISTEN"] = _indent(f"listen {listen} ssl http2;\n" + substitute(TLS_SETTINGS, values), 4)
        if values["HTTP_LISTEN"]:
            values["REDIRECT_SERVER"] = (
                "\n# Plain HTTP: only a redirect to https.\n"
                "server {\n"
                f"    listen {values['HTTP_LISTEN']};\n"
                f"    server_name {values['SERVER_NAME']};\n"
                "    return 301 https://$host$request_uri;\n"
                "}\n"
            )
        else:
            values["REDIRECT_SERVER"] = ""
    else:
        values["LISTEN"] = _indent(f"listen {listen};", 4)
        values["REDIRECT_SERVER"] = ""
    values["GUNICORN_SERVERS"] = _servers(values["GUNICORN"], "GUNICORN")
    values["DAPHNE_SERVERS"] = _servers(values["DAPHNE"], "DAPHNE")
    values["PROXY_HEADERS"] = _indent(PROXY_HEADERS, 8)
    values["HTTP_TIMEOUTS"] = _indent(HTTP_TIMEOUTS, 8)
    values["STATIC_ROOT"] = values["STATIC_ROOT"].rstrip("/")
    if not values["ACCESS_LOG"]:
        values["ACCESS_LOG"] = f"{values['PREFIX']}/access.log" if values["PREFIX"] else "/var/log/nginx/access.log"
    return values


def render_site(values: dict[str, str]) -> str:
    return substitute((HERE / "nginx" / "whatsapp-hub.conf.in").read_text(), values)


def render_standalone(values: dict[str, str]) -> str:
    if not values["PREFIX"]:
        raise SystemExit("standalone needs PREFIX (--set PREFIX=/path/to/a/directory).")
    site = _indent(render_site(values), 4)
    user = f"user {values['WORKER_USER']};\n" if values["WORKER_USER"] else ""
    return substitute((HERE / "nginx" / "standalone.conf.in").read_text(), {**values, "SITE": site, "USER": user})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=["site", "standalone"])
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a variable (repeatable)")
    parser.add_argument("-o", "--output", help="write here instead of standard output")
    args = parser.parse_args(argv)
    given = {}
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep or not NAME.match(name):
            parser.error(f"--set takes NAME=VALUE, not {item!r}")
        given[name] = value
    values = variables(given, dict(os.environ))
    text = render_site(values) if args.kind == "site" else render_standalone(values)
    if args.kind == "standalone":
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (Path(values["PREFIX"]) / "tmp" / name).mkdir(parents=True, exist_ok=True)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
