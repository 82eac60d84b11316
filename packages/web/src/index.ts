/**
 * `@ksched/web`: a Web UI for ksched schedules topics, as a Node request handler.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { createScheduleAdmin } from '@ksched/core';
 * import { createWebHandler } from '@ksched/web';
 *
 * const admin = createScheduleAdmin({ transport, schedulesTopics: ['scheduled_messages'] });
 * createServer(createWebHandler({ admin, auth: { token: process.env.KSCHED_UI_TOKEN! } })).listen(9466, '127.0.0.1');
 * ```
 *
 * @module
 */
export { createWebHandler, CONTENT_SECURITY_POLICY } from './handler.js';
export type { WebHandler, WebHandlerOptions } from './handler.js';
export { startWebServer } from './server.js';
export type { WebServer, WebServerOptions } from './server.js';
export { LiveStats, LATENESS_BUCKETS_MS, RATE_WINDOW_S } from './live.js';
export type { LiveSnapshot, LivePartition, LiveSource } from './live.js';
export type { WebAuth } from './auth.js';
export { escapeHtml, html, Html } from './html.js';
export { previewPayload, PREVIEW_BYTES } from './payload.js';
export type { PayloadPreview } from './payload.js';
