// The typed form of every IMAP command the server understands: what parser.ts produces and the
// command handlers consume.

/** A sequence number or UID; '*' is the largest one in use. */
export type SeqNumber = number | '*';

export interface SeqRange {
  from: SeqNumber;
  to: SeqNumber;
}

/** A sequence set: ranges as written (unordered, possibly overlapping). */
export type SequenceSet = SeqRange[];

export interface DateOnly {
  year: number;
  /** 1–12 */
  month: number;
  day: number;
}

export type SectionText = 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME';

export interface Section {
  /** Part numbers, e.g. [1, 2] for 1.2; empty for the whole message. */
  part: number[];
  text: SectionText | null;
  /** For HEADER.FIELDS and HEADER.FIELDS.NOT. */
  fields: string[];
}

export type FetchAtt =
  | { kind: 'FLAGS' | 'UID' | 'INTERNALDATE' | 'RFC822.SIZE' | 'ENVELOPE' | 'BODYSTRUCTURE' | 'BODY' }
  | { kind: 'RFC822' | 'RFC822.HEADER' | 'RFC822.TEXT' }
  | { kind: 'BODY[]'; peek: boolean; section: Section; partial: { start: number; length: number } | null };

export type SearchKey =
  | { kind: 'all' }
  | { kind: 'flag'; flag: string; set: boolean }
  | { kind: 'new' }
  | { kind: 'old' }
  | { kind: 'recent' }
  | { kind: 'header'; field: string; value: string }
  | { kind: 'body'; value: string }
  | { kind: 'text'; value: string }
  | { kind: 'date'; of: 'internal' | 'sent'; op: 'before' | 'on' | 'since'; date: DateOnly }
  | { kind: 'size'; op: 'larger' | 'smaller'; size: number }
  | { kind: 'uid'; set: SequenceSet }
  | { kind: 'seq'; set: SequenceSet }
  | { kind: 'not'; key: SearchKey }
  | { kind: 'or'; a: SearchKey; b: SearchKey }
  | { kind: 'and'; keys: SearchKey[] };

export type StatusItem = 'MESSAGES' | 'RECENT' | 'UIDNEXT' | 'UIDVALIDITY' | 'UNSEEN';

interface Base {
  tag: string;
}

export type Command = Base &
  (
    | { name: 'CAPABILITY' | 'NOOP' | 'LOGOUT' | 'STARTTLS' | 'CHECK' | 'CLOSE' | 'UNSELECT' | 'IDLE' | 'NAMESPACE' }
    | { name: 'EXPUNGE'; uid: false }
    | { name: 'EXPUNGE'; uid: true; set: SequenceSet }
    | { name: 'LOGIN'; user: string; password: string }
    | { name: 'AUTHENTICATE'; mechanism: string; initial: string | null }
    | { name: 'SELECT' | 'EXAMINE' | 'CREATE' | 'DELETE' | 'SUBSCRIBE' | 'UNSUBSCRIBE'; mailbox: string }
    | { name: 'RENAME'; mailbox: string; to: string }
    | { name: 'LIST' | 'LSUB'; reference: string; pattern: string }
    | { name: 'STATUS'; mailbox: string; items: StatusItem[] }
    | { name: 'APPEND'; mailbox: string; flags: string[]; date: Date | null; message: Buffer }
    | { name: 'ENABLE'; capabilities: string[] }
    | { name: 'ID'; params: [string, string | null][] | null }
    | { name: 'FETCH'; uid: boolean; set: SequenceSet; items: FetchAtt[]; macro: boolean }
    | { name: 'STORE'; uid: boolean; set: SequenceSet; mode: 'add' | 'remove' | 'replace'; silent: boolean; flags: string[] }
    | { name: 'SEARCH'; uid: boolean; charset: string | null; criteria: SearchKey }
    | { name: 'COPY' | 'MOVE'; uid: boolean; set: SequenceSet; mailbox: string }
  );

export type CommandName = Command['name'];
