// Messages between the extension's parts (runtime.sendMessage / tabs.sendMessage).

/** content script → background */
export type ContentRequest =
  /** The address for the sender tab's site: reused, taken from the spare, or made. */
  | { type: 'address' }
  | { type: 'open-options' }
  /** A code field got focus: is there a fresh code for this site? (The page may be new since it came.) */
  | { type: 'recent-code' }
  /** The relay's /pair page offered these; the options page shows them for the user to save. */
  | { type: 'pair-offer'; relayUrl: string; token: string };

export type RecentCodeReply = { code: string | null };

export type AddressReply = { ok: true; address: string } | { ok: false; reason: 'unpaired' | 'no-site' | 'failed'; message: string };

/** background → content script (top frame) */
export type ContentCommand =
  /** Where is this tab? (The background may not see tab URLs.) */
  | { type: 'where' }
  /** A code arrived for this tab's site: fill the page's code field, now or when it appears. */
  | { type: 'code'; code: string; messageId: string }
  /** Fill this address into the focused (or right-clicked) field. */
  | { type: 'fill-focused'; address: string };

export type WhereReply = { url: string };
export type CodeReply = { filled: boolean; pending: boolean };
export type FillReply = { filled: boolean; reason?: string };

/** popup → background */
export type PopupRequest = { type: 'generate'; site: string } | { type: 'reconnect' };

/** background → offscreen document (Chrome) */
export type OffscreenRequest = { target: 'offscreen'; type: 'copy'; text: string };
