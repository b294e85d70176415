// Prometheus metrics, served at /metrics. One registry per relay instance, so tests that run
// several relays in one process do not share counts.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'wisp_' });
  return {
    registry,
    messagesStored: new Counter({ name: 'wisp_messages_stored_total', help: 'Messages committed to the store', labelNames: ['source'], registers: [registry] }),
    smtpRejections: new Counter({ name: 'wisp_smtp_rejections_total', help: 'SMTP commands refused, by reason', labelNames: ['reason'], registers: [registry] }),
    ingestSeconds: new Histogram({
      name: 'wisp_ingest_seconds',
      help: 'Time from the end of DATA to the message being committed',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1],
      registers: [registry],
    }),
    pushes: new Counter({ name: 'wisp_ws_pushes_total', help: 'Frames pushed to WebSocket clients', labelNames: ['type'], registers: [registry] }),
    wsSessions: new Gauge({ name: 'wisp_ws_sessions', help: 'Authenticated WebSocket sessions open now', registers: [registry] }),
    httpRequests: new Counter({ name: 'wisp_http_requests_total', help: 'HTTP requests, by status class', labelNames: ['status'], registers: [registry] }),
    aliasesCreated: new Counter({ name: 'wisp_aliases_created_total', help: 'Addresses made', registers: [registry] }),
    aliasesExpired: new Counter({ name: 'wisp_aliases_expired_total', help: 'Addresses that reached the end of their lifetime', registers: [registry] }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
