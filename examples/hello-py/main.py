# `def handler(event, context)`, sync or `async def`; the result must be JSON-serialisable.
def handler(event, context):
    name = event.get("name") if isinstance(event, dict) else None
    if not isinstance(name, str) or not name.strip():
        name = "world"
    return {"message": f"hello, {name.strip()}", "invocationId": context.invocation_id}
