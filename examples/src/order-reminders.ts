/**
 * Example 1: an order-reminder service on Kafka. It places two orders, pays one, and prints the
 * reminders the scheduler (run it alongside: `ksched run`, or embedded-http.ts) dispatches.
 *
 *   KSCHED_BROKERS=127.0.0.1:19092 pnpm --filter @ksched/examples order-reminders
 *
 * Environment: KSCHED_BROKERS, SCHEDULES_TOPIC (scheduled_messages), REMINDERS_TOPIC
 * (order_reminders), REMINDER_DELAY_MS (5000), WAIT_MS (how long to watch for reminders, 15000).
 */
import { createKafkaJsTransport, createScheduleClient, createTopic, ensureSchedulesTopics } from '@ksched/kafka-adapter-kafkajs';
import { orderReminders } from './reminders.js';

const brokers = (process.env['KSCHED_BROKERS'] ?? '127.0.0.1:19092').split(',');
const schedulesTopic = process.env['SCHEDULES_TOPIC'] ?? 'scheduled_messages';
const remindersTopic = process.env['REMINDERS_TOPIC'] ?? 'order_reminders';
const delayMs = Number(process.env['REMINDER_DELAY_MS'] ?? 5000);
const waitMs = Number(process.env['WAIT_MS'] ?? 15_000);

await ensureSchedulesTopics({ brokers, topics: [schedulesTopic], partitions: 3 });
await createTopic({ brokers, topic: remindersTopic, partitions: 1 }).catch(() => {}); // exists already: fine

// Watch the reminders topic first, so nothing dispatched is missed.
const watcher = createKafkaJsTransport({ brokers, clientId: 'order-reminders-watch' });
const received: string[] = [];
const subscription = await watcher.subscribe({
  groupId: `order-reminders-watch-${Date.now()}`,
  topics: [remindersTopic],
  listener: {
    onAssigned: async (tps) => {
      for (const tp of tps) await watcher.seekToBeginning(tp);
    },
    onRevoked: () => {},
    onBatch: (batch) => {
      for (const record of batch.records) {
        const text = new TextDecoder().decode(record.value ?? new Uint8Array());
        received.push(text);
        console.log(`reminder received: ${text}`);
      }
    },
  },
});

const client = createScheduleClient({ brokers, schedulesTopic, clientId: 'order-reminders' });
const reminders = orderReminders(client, { remindersTopic, delayMs });
const run = Date.now().toString(36);
const [first, second] = [`order-${run}-1`, `order-${run}-2`];
const ref = await reminders.placed(first, 'customer-7');
console.log(`placed ${first}: reminder ${ref.key} on ${ref.topic}/${ref.partition}, due in ${delayMs} ms`);
await reminders.placed(second, 'customer-9');
console.log(`placed ${second}`);
await reminders.paid(second);
console.log(`paid ${second}: its reminder is cancelled`);

const deadline = Date.now() + waitMs;
while (Date.now() < deadline && !received.some((r) => r.includes(first))) await new Promise((r) => setTimeout(r, 200));
// A little longer: a reminder for the paid order would show up now if the cancel had not worked.
await new Promise((r) => setTimeout(r, 2000));
const ours = received.filter((r) => r.includes(run));
console.log(JSON.stringify({ reminded: ours.map((r) => (JSON.parse(r) as { orderId: string }).orderId) }));
await client.close();
await subscription.close();
await watcher.close();
