// One Exchange.Pull stream: a PullRequest first, then deliveries in, acks out. Every wait
// ends at a deadline; a stream that ends with an error makes the next wait throw it.

export class PullSession {
  constructor(client, member, maxInFlight = 8) {
    this.queue = [];
    this.wake = null;
    this.failure = null;
    this.call = client.Pull();
    this.call.on('data', (delivery) => this.#push(delivery));
    this.call.on('error', (error) => {
      this.failure = error;
      this.#push(null);
    });
    this.call.on('end', () => {
      this.failure ??= new Error('pull stream ended by the server');
      this.#push(null);
    });
    this.call.write({ request: { member, max_in_flight: maxInFlight } });
  }

  #push(delivery) {
    if (delivery) this.queue.push(delivery);
    if (this.wake) this.wake();
  }

  /** The next delivery, or null when none came within `seconds`. */
  async next(seconds) {
    const deadline = Date.now() + seconds * 1000;
    while (this.queue.length === 0) {
      if (this.failure) throw this.failure;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
    return this.queue.shift();
  }

  /**
   * The first delivery for which `match(delivery)` is true within `seconds`, or null; every
   * other delivery received meanwhile is handed to `other` (which must ack it).
   */
  async waitFor(match, seconds, other) {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
      const delivery = await this.next(Math.max(0, (deadline - Date.now()) / 1000));
      if (delivery === null) return null;
      if (match(delivery)) return delivery;
      other(delivery);
    }
  }

  ack(delivery, outcome = 'ACK_OUTCOME_ACCEPTED', reason = '') {
    this.call.write({ ack: { delivery_id: delivery.delivery_id, outcome, reason } });
  }

  close() {
    this.call.end();
    this.call.cancel();
  }
}
