"""A NATS services-API client written apart from the service: asks $SRV.PING, $SRV.INFO and
$SRV.STATS of every replica of a service, calls its endpoints, and prints what came back
as one JSON object, for the e2e scenario to judge.

usage: micro_client.py NATS_URL SERVICE PREFIX USER ALARM
"""

import asyncio
import json
import sys

import nats


async def gather(nc, subject, wait=1.5):
    """Every reply to one request on `subject` within `wait` seconds (one per replica)."""
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox)
    await nc.publish(subject, b"", reply=inbox)
    replies = []
    try:
        while True:
            msg = await sub.next_msg(timeout=wait)
            replies.append(json.loads(msg.data))
    except nats.errors.TimeoutError:
        pass
    await sub.unsubscribe()
    return replies


async def call(nc, subject, body, headers=None):
    """One request; its JSON body (or text) and the service-error headers."""
    msg = await nc.request(subject, body, timeout=10, headers=headers)
    text = msg.data.decode()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = text
    hdrs = msg.headers or {}
    return {
        "data": data,
        "error": hdrs.get("Nats-Service-Error"),
        "code": hdrs.get("Nats-Service-Error-Code"),
    }


async def main():
    url, service, prefix, user, alarm = sys.argv[1:6]
    nc = await nats.connect(url)
    out = {
        "ping": await gather(nc, f"$SRV.PING.{service}"),
        "info": await gather(nc, f"$SRV.INFO.{service}"),
        "preview": await call(nc, f"{prefix}.preview", json.dumps({"UserID": user}).encode()),
        "alarm": await call(nc, f"{prefix}.alarm", json.dumps({"UserID": user, "AlarmID": alarm}).encode()),
        "missing": await call(nc, f"{prefix}.alarm", json.dumps({"UserID": user, "AlarmID": "nope"}).encode()),
        "send": await call(nc, f"{prefix}.send", json.dumps({"UserID": user}).encode(), {"Nats-Msg-Id": "once"}),
        "send_again": await call(nc, f"{prefix}.send", json.dumps({"UserID": user}).encode(), {"Nats-Msg-Id": "once"}),
        "bad": await call(nc, f"{prefix}.preview", b"not json"),
    }
    out["stats"] = await gather(nc, f"$SRV.STATS.{service}")
    await nc.close()
    print(json.dumps(out))


asyncio.run(main())
