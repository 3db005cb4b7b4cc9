# __NAME__: answers POST /functions/__NAME__/invoke with JSON, and any request to /function/__NAME__
# with a plain-text page. Loaded once per container; each call runs handler(event, context).


def handler(event, context):
    trigger = context.trigger
    # /function/__NAME__/...: the event is the HTTP request, the answer sets status, headers and body
    if trigger.get("kind") == "http" and trigger.get("route") == "function":
        body = f"hello from {context.function_name} ({event['method']} {event['path']})\n"
        return {"statusCode": 200, "headers": {"content-type": "text/plain; charset=utf-8"}, "body": body}
    # /functions/__NAME__/invoke: the event is the JSON body (None when empty), the result the JSON answer
    name = event.get("name") if isinstance(event, dict) else None
    return {"message": f"hello, {name or 'world'}", "invocationId": context.invocation_id}
