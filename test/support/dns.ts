// A tiny authoritative DNS server on loopback (UDP, RFC 1035 wire format) for the names a test
// makes up: MX, A and TXT records, NXDOMAIN for unknown names, NODATA for known names without the
// asked type. Enough for the relay's MX lookups and nothing more.
import dgram from 'node:dgram';

export interface Zone {
  [name: string]: { MX?: { priority: number; exchange: string }[]; A?: string[]; TXT?: string[] };
}

const TYPES = { A: 1, MX: 15, TXT: 16 } as const;

function encodeName(name: string): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter(Boolean);
  return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')])), Buffer.from([0])]);
}

function readName(msg: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let i = offset;
  for (;;) {
    const len = msg[i];
    if (len === undefined) throw new Error('truncated name');
    if (len === 0) return { name: labels.join('.'), end: i + 1 };
    labels.push(msg.subarray(i + 1, i + 1 + len).toString('ascii'));
    i += 1 + len;
  }
}

function record(type: number, rdata: Buffer): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
  head.writeUInt16BE(type, 2);
  head.writeUInt16BE(1, 4); // IN
  head.writeUInt32BE(60, 6);
  head.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([head, rdata]);
}

export function answer(query: Buffer, zone: Zone): Buffer {
  const { name, end } = readName(query, 12);
  const qtype = query.readUInt16BE(end);
  const question = query.subarray(12, end + 4);
  const entry = zone[name.toLowerCase()];
  const answers: Buffer[] = [];
  if (entry && qtype === TYPES.MX) {
    for (const mx of entry.MX ?? []) {
      const pref = Buffer.alloc(2);
      pref.writeUInt16BE(mx.priority);
      answers.push(record(TYPES.MX, Buffer.concat([pref, encodeName(mx.exchange)])));
    }
  }
  if (entry && qtype === TYPES.A) for (const ip of entry.A ?? []) answers.push(record(TYPES.A, Buffer.from(ip.split('.').map(Number))));
  if (entry && qtype === TYPES.TXT) {
    for (const text of entry.TXT ?? []) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < text.length; i += 255) {
        const part = Buffer.from(text.slice(i, i + 255), 'ascii');
        chunks.push(Buffer.from([part.length]), part);
      }
      answers.push(record(TYPES.TXT, Buffer.concat(chunks)));
    }
  }
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0);
  // QR, AA, RD copied; RA; RCODE 3 (NXDOMAIN) for unknown names.
  header.writeUInt16BE(0x8400 | (query.readUInt16BE(2) & 0x0100) | 0x0080 | (entry ? 0 : 3), 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  return Buffer.concat([header, question, ...answers]);
}

export interface DnsServer {
  port: number;
  /** `127.0.0.1:PORT`, as --dns-server takes it. */
  address: string;
  zone: Zone;
  queries: { name: string; type: number }[];
  close(): Promise<void>;
}

export async function startDns(zone: Zone): Promise<DnsServer> {
  const socket = dgram.createSocket('udp4');
  const queries: { name: string; type: number }[] = [];
  socket.on('message', (msg, rinfo) => {
    try {
      const { name, end } = readName(msg, 12);
      queries.push({ name, type: msg.readUInt16BE(end) });
      socket.send(answer(msg, zone), rinfo.port, rinfo.address);
    } catch {
      /* not a query we understand: no answer */
    }
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const port = socket.address().port;
  return {
    port,
    address: `127.0.0.1:${port}`,
    zone,
    queries,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
