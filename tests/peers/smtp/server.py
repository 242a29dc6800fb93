"""An SMTP server for the e-mail tests: it accepts every message on 127.0.0.1:PORT and
writes each, read with Python's e-mail parser, as one JSON file in DIR (00001.json, ...):
its envelope, its headers, its subject and its text decoded."""

import argparse
import asyncio
import email
import email.policy
import json
import os

from aiosmtpd.smtp import SMTP


class Keep:
    def __init__(self, out):
        self.out = out
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(
            envelope.original_content or envelope.content, policy=email.policy.default
        )
        body = message.get_body(preferencelist=("plain",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_to": envelope.rcpt_tos,
            "headers": {name: str(value) for name, value in message.items()},
            "subject": str(message["subject"] or ""),
            "body": body.get_content() if body is not None else "",
        }
        self.count += 1
        name = os.path.join(self.out, f"{self.count:05d}.json")
        with open(name + ".part", "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False)
        os.replace(name + ".part", name)
        return "250 Message accepted for delivery"


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    handler = Keep(args.dir)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="smtp.localhost"), "127.0.0.1", args.port
    )
    print(f"listening on 127.0.0.1:{args.port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
