/**
 * HBFIFO worker body: reads `/var/lib/heartbeat/fifo` and forwards every
 * complete, well-formed message (classic `>>>`…`<<<` or netstring
 * `###`…`%%%`) to the master as one packet frame, re-encoded in classic IPC
 * form. It opens the FIFO read-write, as Heartbeat's FIFO reader does, so it
 * never sees end-of-file when writers come and go. Garbage is skipped and
 * reported, never passed on.
 *
 * @module
 */

import { FifoStreamParser } from "../wire/fifo_stream.ts";
import { encodeIpc } from "../wire/codec.ts";
import type { WorkerPort } from "./media.ts";

/** Runs the FIFO reader on `path` until reading fails. */
export async function runFifoReader(path: string, port: WorkerPort): Promise<void> {
  const file = await Deno.open(path, { read: true, write: true });
  port.control({ t: "ready" });
  const parser = new FifoStreamParser();
  const buf = new Uint8Array(65536);
  try {
    while (true) {
      const n = await file.read(buf);
      if (n === null) break;
      for (const item of parser.push(buf.slice(0, n))) {
        if (item.ok) port.packet(encodeIpc(item.msg));
        else port.log("ERROR", `FIFO: dropped a malformed message (${item.detail})`);
      }
    }
  } finally {
    file.close();
  }
}
