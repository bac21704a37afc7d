// The order in which stream frames reach the page: no DOM, no network, no timers, so that
// `tests/js/ordering.test.mjs` can drive it frame by frame (realtime.js feeds it).
//
// The page fetches a snapshot (`/api/bootstrap`) that names the stream position it reflects;
// until it is in, the order is *held*: frames are buffered, then delivered only if newer than
// the snapshot. Event ids are positions in the server's one event log: they increase along a
// stream but skip the positions of other people's events (only their order counts here, never
// that they follow one another), so a frame at or below the applied position is a duplicate (an
// overlap with the snapshot, or a relay from a new leader tab) and is dropped. Reducers still
// apply events idempotently (by message, notification or request id), so a duplicate that
// slipped through would change nothing.
//
// A frame is `{kind: "event", type, id, data}` or `{kind: "resync", id}`.

/** Is event id `a` after `b`? Ids are decimal log positions; anything else counts as newer. */
export function isAfter(a, b) {
  if (b == null || b === "") return true;
  if (!/^\d+$/.test(a) || !/^\d+$/.test(b)) return true;
  return a.length !== b.length ? a.length > b.length : a > b;
}

/** The later of two event ids (either may be missing). */
export function maxId(a, b) {
  if (a == null || a === "") return b;
  if (b == null || b === "") return a;
  return isAfter(a, b) ? a : b;
}

export class EventOrder {
  constructor() {
    this.position = null; // the newest event id this tab knows of: where a stream resumes
    this.applied = null; // the newest event id delivered
    this.held = true; // until the first snapshot is in
    this.buffer = [];
  }

  /** Hold deliveries (a snapshot is being fetched): frames are buffered, not dropped. */
  hold() {
    this.held = true;
  }

  /** The snapshot at `lastEventId` is in: returns the buffered frames newer than it, in order. */
  resume(lastEventId) {
    this.applied = lastEventId;
    this.position = maxId(this.position, lastEventId);
    this.held = false;
    const buffered = this.buffer;
    this.buffer = [];
    return buffered.filter((frame) => this.#admit(frame));
  }

  /** A frame arrived: returns it if it is to be delivered now, else null (held, or a duplicate). */
  accept(frame) {
    if (frame.kind === "resync") {
      // The server's word on where the stream stands, even if it went backwards (a new database).
      if (frame.id) this.position = frame.id;
    } else {
      this.position = maxId(this.position, frame.id);
    }
    if (this.held) {
      this.buffer.push(frame);
      return null;
    }
    return this.#admit(frame) ? frame : null;
  }

  #admit(frame) {
    if (frame.kind === "resync") return true;
    if (frame.id && !isAfter(frame.id, this.applied)) return false; // already applied
    this.applied = maxId(this.applied, frame.id);
    return true;
  }
}
