/**
 * Building RFC 2136 UPDATE messages.
 *
 * - Zone section (§2.3): one record, ZNAME = the zone, ZTYPE = SOA, ZCLASS = IN.
 * - Prerequisite section (§2.4): empty; our changes are idempotent and a
 *   replace is a full target RRset, so no precondition is needed for safety.
 * - Update section (§2.5): "Delete An RRset" (§2.5.2: CLASS ANY, TTL 0,
 *   RDLENGTH 0), "Add To An RRset" (§2.5.1: CLASS IN, the TTL, the RDATA),
 *   "Delete An RR From An RRset" (§2.5.4: CLASS NONE, TTL 0, the RDATA).
 *
 * A server applies an UPDATE message as one transaction: every change or
 * none (§3.4, and §3.7 for atomicity towards concurrent queries). A replace
 * is therefore one message, delete-then-add, so no resolver ever sees an
 * empty or mixed RRset.
 */
import type { RRset } from '../../types.js';
import { type Message, Opcode, RRClass, type ResourceRecord, typeCode } from '../../wire/message.js';
import { parseValue } from '../../wire/rdata.js';

export type UpdateAction = 'replace' | 'add' | 'remove';

export function updateRecords(action: UpdateAction, rrset: RRset): ResourceRecord[] {
  const type = typeCode(rrset.type);
  const records: ResourceRecord[] = [];
  if (action === 'replace') records.push({ name: rrset.name, type, class: RRClass.ANY, ttl: 0, rdata: Buffer.alloc(0) });
  for (const v of rrset.values) {
    const rdata = parseValue(rrset.type, v);
    if (action === 'remove') records.push({ name: rrset.name, type, class: RRClass.NONE, ttl: 0, rdata });
    else records.push({ name: rrset.name, type, class: RRClass.IN, ttl: rrset.ttl, rdata });
  }
  return records;
}

/** One UPDATE message for `action` on `rrset` (canonical) in `zone`. */
export function buildUpdate(id: number, zone: string, action: UpdateAction, rrset: RRset): Message {
  return {
    id,
    flags: { opcode: Opcode.UPDATE },
    questions: [{ name: zone, type: typeCode('SOA'), class: RRClass.IN }],
    answers: [],
    authorities: updateRecords(action, rrset),
    additionals: [],
  };
}
