/**
 * An order service's payment reminders: when an order is placed, a reminder is scheduled for later;
 * when it is paid first, the reminder is cancelled. It talks to ksched through core's
 * `ScheduleClient`, so the same code runs on Kafka (order-reminders.ts) and on the testkit's fake
 * broker and fake time (reminders.test.ts).
 */
import type { ScheduleClient, ScheduledRef } from '@ksched/core';

/** Settings of {@link orderReminders}. */
export interface OrderRemindersOptions {
  /** Where reminders go when due. */
  readonly remindersTopic: string;
  /** How long after an order is placed its reminder is due, ms. */
  readonly delayMs: number;
}

/** The reminder's schedule key: one per order, so it can be cancelled by order id. */
export const reminderKey = (orderId: string): string => `payment-reminder-${orderId}`;

export function orderReminders(client: ScheduleClient, options: OrderRemindersOptions) {
  return {
    /** An order was placed: remind the customer to pay after `delayMs`. */
    placed(orderId: string, customerId: string): Promise<ScheduledRef> {
      return client.schedule({
        message: {
          topic: options.remindersTopic,
          key: orderId,
          payload: JSON.stringify({ kind: 'payment-reminder', orderId, customerId }),
          headers: { 'content-type': 'application/json' },
        },
        // Routed by order id, so the cancel below reaches the same partition without remembering it.
        envelope: { key: reminderKey(orderId), partitionKey: orderId },
        delayMs: options.delayMs,
      });
    },
    /** The order was paid: no reminder. */
    paid(orderId: string): Promise<ScheduledRef> {
      return client.cancel({ key: reminderKey(orderId), partitionKey: orderId });
    },
  };
}
