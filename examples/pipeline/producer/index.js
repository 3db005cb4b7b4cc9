// Validates the order, emits it as an event and answers at once: the consumer does the rest.
// Events are appended only after the handler returns successfully, so a rejected order emits nothing.
export default async function handler(event, context) {
  const { item, quantity = 1 } = event ?? {};
  if (typeof item !== 'string' || !item)
    throw new Error('an order needs an "item" (a non-empty string)');
  if (!Number.isInteger(quantity) || quantity < 1)
    throw new Error('"quantity" must be a positive integer');
  const order = { orderId: context.invocationId, item, quantity };
  context.emit('shop.orders', 'order_placed', order);
  return { ...order, status: 'placed' };
}
