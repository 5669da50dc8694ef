/**
 * `meatclient -c <node> [-w]`: the operator's confirmation that a node was power-cycled by
 * hand, for the `meatware` STONITH device (cluster-glue's meatclient, same protocol).
 *
 * It opens the device's FIFO `<runDir>/meatware.<node>` for writing without blocking (no
 * FIFO or no waiting device: `Meatware_IPC failed: <fifo>: <reason>`, exit 4; with `-w` it
 * waits, printing a dot a second), shows the warning, asks `PROCEED? [yN] `, and on `y`
 * writes `meatware reply <node>` (padded to 256 bytes) and prints
 * `Meatware_client: reset confirmed.` (exit 0); anything else prints
 * `Meatware_client: operation canceled.` (exit 3).
 *
 * @module
 */

import { DEFAULT_RUN_DIR } from "./devices.ts";
import { closeFd, ENOENT, ENXIO, openWriteNonblocking, writeFd } from "../sys/fifo.ts";
import { S_BADHOST, S_INVAL, S_OK, S_OOPS } from "./types.ts";

/** Where meatclient reads and writes (tests replace the terminal). */
export interface MeatclientIo {
  /** Run directory holding the FIFOs (default /var/run). */
  runDir?: string;
  /** Reads the operator's answer (default: a word from stdin). */
  readAnswer?: () => Promise<string | null>;
  /** Normal output (default stdout). */
  out?: (text: string) => void;
  /** Error output (default stderr). */
  err?: (text: string) => void;
  /** Seconds between tries in `-w` mode (default 1). */
  waitIntervalSec?: number;
}

async function readWordFromStdin(): Promise<string | null> {
  const buf = new Uint8Array(256);
  let text = "";
  while (true) {
    const n = await Deno.stdin.read(buf);
    if (n === null) break;
    text += new TextDecoder().decode(buf.subarray(0, n));
    const m = /\S+/.exec(text);
    if (m && /\s/.test(text.slice(m.index + m[0].length, m.index + m[0].length + 1))) break;
  }
  const m = /\S+/.exec(text);
  return m ? m[0] : null;
}

/** Runs meatclient with `args` (without the program name); resolves with the exit code. */
export async function meatclientMain(args: string[], io: MeatclientIo = {}): Promise<number> {
  const enc = new TextEncoder();
  const out = io.out ?? ((t: string) => Deno.stdout.writeSync(enc.encode(t)));
  const err = io.err ?? ((t: string) => Deno.stderr.writeSync(enc.encode(t)));
  let host: string | undefined;
  let wait = false;
  let errors = 0;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "-c") {
      host = args[++i];
      if (host === undefined) errors++;
    } else if (a.startsWith("-c") && a.length > 2) host = a.slice(2);
    else if (a === "-w") wait = true;
    else if (a === "-cw" || a === "-wc") {
      wait = true;
      host = args[++i];
    } else errors++;
  }
  if (errors > 0 || host === undefined || host === "") {
    err("usage: meatclient -c node [-w]\n");
    return S_INVAL;
  }
  host = host.toLowerCase();
  const fifo = `${io.runDir ?? DEFAULT_RUN_DIR}/meatware.${host}`;
  let fd: number;
  let waited = false;
  while (true) {
    const r = openWriteNonblocking(fifo);
    if ("fd" in r) {
      fd = r.fd;
      break;
    }
    if (!wait || (r.errno !== ENOENT && r.errno !== ENXIO)) {
      if (waited) out("\n");
      err(`Meatware_IPC failed: ${fifo}: ${r.message}\n`);
      return S_BADHOST;
    }
    out(".");
    waited = true;
    await new Promise((res) => setTimeout(res, (io.waitIntervalSec ?? 1) * 1000));
  }
  if (waited) out("\n");
  out(
    `\nWARNING!\n\nIf node "${host}" has not been manually power-cycled or disconnected from ` +
      "all shared resources and networks, data on shared disks may become corrupted and " +
      "migrated services might not work as expected.\nPlease verify that the name or address " +
      "above corresponds to the node you just rebooted.\n\nPROCEED? [yN] ",
  );
  const answer = await (io.readAnswer ?? readWordFromStdin)();
  if (answer === null || !/^[yY]/.test(answer)) {
    out("Meatware_client: operation canceled.\n");
    closeFd(fd);
    return S_INVAL;
  }
  const line = new Uint8Array(new ArrayBuffer(256));
  line.set(enc.encode(`meatware reply ${host}`).subarray(0, 255));
  const w = writeFd(fd, line);
  closeFd(fd);
  if (typeof w !== "number") {
    err(`Meatware_IPC failed: ${fifo}: ${w.message}\n`);
    return S_OOPS;
  }
  out("Meatware_client: reset confirmed.\n");
  return S_OK;
}
