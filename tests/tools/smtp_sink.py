#!/usr/bin/env python3
"""A real SMTP server for the alert tests (Debian's python3-aiosmtpd).

Listens on 127.0.0.1 on a free port, with STARTTLS (required) or implicit TLS, and AUTH
(LOGIN/PLAIN, only over TLS) when --username is given; the password comes from the
environment variable SMTP_SINK_PASSWORD. Each message received is parsed with Python's
email package and written, atomically, as OUT_DIR/NNNN.json: envelope, whether TLS and
AUTH were used, the decoded subject, headers and plain-text body, the parser's defects,
and the raw message. The bound port is written to --ready-file once listening.

Usage: smtp_sink.py --out-dir DIR --ready-file FILE --cert CRT --key KEY
                    [--security starttls|tls] [--username NAME]
"""
import argparse
import asyncio
import email
import email.policy
import json
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Sink:
    def __init__(self, out_dir, security):
        self.out_dir = out_dir
        self.security = security
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        message = email.message_from_bytes(raw, policy=email.policy.default)
        defects = [repr(d) for d in message.defects]
        headers = []
        for name, value in message.items():
            defects += [repr(d) for d in getattr(value, "defects", ())]
            headers.append([name, str(value)])
        body = message.get_body(preferencelist=("plain",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": session.ssl is not None or self.security == "tls",
            "authenticated": bool(session.authenticated),
            "login": (session.auth_data.login.decode()
                      if isinstance(session.auth_data, LoginPassword) else None),
            "subject": str(message["subject"] or ""),
            "headers": headers,
            "content_type": message.get_content_type(),
            "charset": message.get_content_charset(),
            "body": body.get_content() if body is not None else None,
            "defects": defects,
            "raw": raw.decode("utf-8", errors="replace"),
        }
        self.count += 1
        path = os.path.join(self.out_dir, "%04d.json" % self.count)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False, indent=1)
        os.rename(path + ".tmp", path)
        return "250 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--security", choices=["starttls", "tls"], default="starttls")
    parser.add_argument("--username")
    args = parser.parse_args()
    password = os.environ.get("SMTP_SINK_PASSWORD", "")

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login.decode() == args.username
              and auth_data.password.decode() == password)
        # handled=False: aiosmtpd answers 535 itself on a refusal.
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    sink = Sink(args.out_dir, args.security)
    starttls = args.security == "starttls"

    def protocol():
        return SMTP(
            sink,
            hostname="smtp-sink.test",
            tls_context=context if starttls else None,
            require_starttls=starttls,
            authenticator=authenticate if args.username else None,
            auth_required=bool(args.username),
            # Implicit TLS: the connection is encrypted before SMTP starts.
            auth_require_tls=starttls,
        )

    async def serve():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            protocol, host="127.0.0.1", port=0, ssl=None if starttls else context)
        port = server.sockets[0].getsockname()[1]
        with open(args.ready_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.rename(args.ready_file + ".tmp", args.ready_file)
        async with server:
            await server.serve_forever()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
