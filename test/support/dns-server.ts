import dns2 from 'dns2';

const { Packet } = dns2;
/** RFC 1035 §4.1.1 response codes (dns2 has them at run time; its types leave them out). */
const RCODE = { SERVFAIL: 2, NXDOMAIN: 3 } as const;

export interface DnsZone {
  /** host:port for DNS_SERVERS. */
  address: string;
  /** Serves these TXT records at `name` (replacing what was there). */
  setTxt(name: string, values: string[]): void;
  /** Stops serving anything at `name` (it answers NXDOMAIN). */
  remove(name: string): void;
  /** Answers SERVFAIL for every query while true (a DNS outage). */
  failing: boolean;
  /** What the server was asked, in order (`name TYPE`). */
  queries: string[];
  close(): Promise<void>;
}

/** DNS splits TXT data into character-strings of at most 255 bytes; long DKIM keys come in several. */
const chunks = (value: string): string[] => value.match(/.{1,255}/gs) ?? [''];

/**
 * An authoritative DNS server on a loopback UDP port, in the test process, serving TXT records
 * the test sets: the DNS a tenant publishes its records in. Unknown names answer NXDOMAIN; a
 * known name asked for another type answers NOERROR with no answer (NODATA), as real servers do.
 */
export async function startDnsServer(): Promise<DnsZone> {
  const txt = new Map<string, string[]>();
  const zone: DnsZone = {
    address: '',
    failing: false,
    queries: [],
    setTxt: (name, values) => txt.set(name.toLowerCase(), values),
    remove: (name) => txt.delete(name.toLowerCase()),
    close: async () => {
      await server.close();
    },
  };
  const server = dns2.createServer({
    udp: true,
    handle: (request, send) => {
      const response = Packet.createResponseFromRequest(request);
      const [question] = request.questions;
      if (!question) return void send(response);
      const name = question.name.toLowerCase();
      const typeName =
        Object.entries(Packet.TYPE).find(([, v]) => v === question.type)?.[0] ?? String(question.type);
      zone.queries.push(`${name} ${typeName}`);
      if (zone.failing) {
        response.header.rcode = RCODE.SERVFAIL;
        return void send(response);
      }
      const values = txt.get(name);
      if (values === undefined) {
        response.header.rcode = RCODE.NXDOMAIN;
        return void send(response);
      }
      if (question.type === Packet.TYPE.TXT) {
        for (const value of values) {
          response.answers.push({
            name: question.name,
            type: Packet.TYPE.TXT,
            class: Packet.CLASS.IN,
            ttl: 1,
            data: chunks(value),
          } as unknown as (typeof response.answers)[number]);
        }
      }
      send(response);
    },
  });
  const addresses = await server.listen({ udp: { port: 0, address: '127.0.0.1' } });
  zone.address = `127.0.0.1:${addresses.udp?.port}`;
  return zone;
}
