"""A Knative function for the tests, served by the real func-python
middleware on $LISTEN_ADDRESS (loopback): it stands for every size variant
of a step (one path per variant) and answers with a CloudEvent saying what
it received (path, headers, data)."""

from cloudevents.core.bindings.http import HTTPMessage, from_http_event, to_binary_event
from cloudevents.core.v1.event import CloudEvent
from func_python.http import serve

from janus.knative import receive_body


class Target:
    async def handle(self, scope, receive, send):
        body = await receive_body(receive)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        got = {"path": scope["path"], "headers": headers}
        if any(k.startswith("ce-") for k in headers):
            got["event"] = from_http_event(HTTPMessage(headers=headers, body=body)).get_attributes()
            got["event"] = {k: str(v) for k, v in got["event"].items()}
        else:
            got["body"] = body.decode()
        reply = CloudEvent(
            attributes={"type": "dev.janus.test.reply", "source": "/target", "id": "reply-1"},
            data=got,
        )
        msg = to_binary_event(reply)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(k.encode(), v.encode()) for k, v in msg.headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": msg.body})


def new():
    return Target()


if __name__ == "__main__":
    serve(new)
