/**
 * `hb_standby` and `hb_takeover`: write one request into the daemon's FIFO and
 * exit at once, exactly as Heartbeat's shell scripts do (config-and-cli.md §5.8,
 * api.md §9). They do not wait for the outcome.
 *
 * @module
 */

import { nodePaths } from "../config/paths.ts";

const WORDS = ["all", "local", "foreign", "failback"] as const;

/** The FIFO text each tool writes for a resource word. */
export function fifoRequest(tool: "hb_standby" | "hb_takeover", word: string): string {
  if (tool === "hb_standby") {
    const hold = word === "failback" ? "foreign" : word;
    return `>>>\nt=ask_resources\nrsc_hold=${hold}\ninfo=me\n<<<\n`;
  }
  return `>>>\nt=hb_takeover\nrsc_hold=${word}\n<<<\n`;
}

function usage(path: string): string {
  return `usage:\n${path} [all|foreign|local|failback]`;
}

/** Entry of both tools; `tool` is the name we run as. */
export async function hbStandbyMain(
  tool: "hb_standby" | "hb_takeover",
  args: string[],
): Promise<number> {
  const path = `/usr/share/heartbeat/${tool}`;
  if (args[0] === "--help" || args[0] === "-h") {
    console.log(usage(path));
    return 0;
  }
  if (args.length > 1) {
    console.log(`${path}: too many arguments`);
    console.error(usage(path));
    return 1;
  }
  const word = args[0] ?? "all";
  if (!(WORDS as readonly string[]).includes(word)) {
    console.log(`${path}: wrong resources(${word}).`);
    console.error(usage(path));
    return 1;
  }
  if (tool === "hb_standby") {
    const hold = word === "failback" ? "foreign" : word;
    const d = new Date();
    const mon = d.toLocaleString("en-US", { month: "short" });
    const stamp = `${mon} ${String(d.getDate()).padStart(2, "0")} ${d.toTimeString().slice(0, 8)}`;
    console.error(`${stamp} Going standby [${hold}].`);
  }
  const fifo = Deno.env.get("HA_FIFO") ?? nodePaths().fifo;
  // Like the shell scripts, block until the daemon's FIFO reader has the pipe open.
  const f = await Deno.open(fifo, { write: true, append: true });
  try {
    await f.write(new TextEncoder().encode(fifoRequest(tool, word)));
  } finally {
    f.close();
  }
  return 0;
}
