export default async function echo(event, context) {
  return {
    event,
    invocationId: context.invocationId,
    function: context.functionName,
    trigger: context.trigger,
  };
}
