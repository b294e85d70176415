// Wire types of the relay's HTTP API and WebSocket (INTERFACE.md §2–3).
// The relay produces them and the extension consumes them; this file is their one definition.

/** A disposable address. Times are ISO 8601 strings in UTC. */
export interface Alias {
  address: string;
  /** Registrable domain of the site the address was made for, or null. */
  site: string | null;
  label: string | null;
  active: boolean;
  createdAt: string;
  /** null: never expires. */
  expiresAt: string | null;
  messageCount: number;
  lastMessageAt: string | null;
}

/** What a list of messages carries: never a body. */
export interface Summary {
  id: string;
  alias: string;
  site: string | null;
  from: string;
  subject: string;
  receivedAt: string;
  size: number;
  seen: boolean;
  preview: string;
  /** The code exactly as the user must type it, or null. */
  code: string | null;
  /** The URL the user must open to confirm or sign in, or null. */
  link: string | null;
}

export interface AttachmentInfo {
  filename: string | null;
  contentType: string;
  size: number;
}

export interface MessageDetail extends Summary {
  text: string | null;
  /** Sanitized: no script, no remote loads. */
  html: string | null;
  headers: Record<string, string>;
  attachments: AttachmentInfo[];
}

export interface CreateAliasRequest {
  site?: string;
  /** Seconds; null never expires; absent takes the relay's default. */
  ttl?: number | null;
  label?: string;
}

export interface UpdateAliasRequest {
  ttl?: number | null;
  label?: string | null;
  active?: boolean;
}

export interface ApiError {
  error: string;
}

export type AliasEvent = 'created' | 'updated' | 'deleted' | 'expired';

/** Frames the client sends on /api/ws. */
export interface WsAuthFrame {
  type: 'auth';
  token: string;
  since?: string;
}

/** Frames the server sends on /api/ws. */
export type WsServerFrame =
  | { type: 'hello'; user: string }
  | { type: 'message'; message: Summary }
  | { type: 'alias'; event: AliasEvent; alias: Alias };

/** WebSocket close codes the relay uses. */
export const WS_CLOSE_BAD_TOKEN = 4401;
export const WS_CLOSE_AUTH_TIMEOUT = 4408;
