// Prices an order event and emits a receipt. A thrown error is retried (max_attempts), then the
// event goes to titan.dlq.
const PRICES = { book: 1200, pen: 150, lamp: 3400 }; // cents

export default async function handler(event, context) {
  const { orderId, item, quantity } = event.data;
  const unit = PRICES[item];
  if (unit === undefined) throw new Error(`no price for item '${item}'`);
  const receipt = {
    orderId,
    item,
    quantity,
    totalCents: unit * quantity,
    receivedFrom: event.source ?? null,
  };
  context.emit('shop.receipts', 'receipt_ready', receipt);
  return receipt;
}
