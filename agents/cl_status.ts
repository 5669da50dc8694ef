/**
 * `cl_status`: queries the local daemon over its API socket.
 *
 * This is the foundation's minimal version: it tells whether the daemon is
 * running (`hbstatus`) and refuses other sub-commands the way the real tool
 * does when it cannot sign on. The full client (every sub-command over the
 * API socket) belongs to the client-API issue.
 *
 * @module
 */

import { nodePaths } from "../master/paths.ts";

function stamp(): string {
  const d = new Date();
  const mon = d.toLocaleString("en-US", { month: "short" });
  return `${mon} ${String(d.getDate()).padStart(2, "0")} ${d.toTimeString().slice(0, 8)}`;
}

async function canConnect(path: string): Promise<boolean> {
  try {
    const conn = await Deno.connect({ transport: "unix", path });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

/** Entry of `cl_status`. */
export async function clStatusMain(args: string[]): Promise<number> {
  const sub = args.find((a) => !a.startsWith("-"));
  if (sub === undefined || args.includes("-h")) {
    console.log("Usage: cl_status <sub-command> [<options>] [<parameters>]");
    return 0;
  }
  const running = await canConnect(nodePaths().apiSocket);
  if (sub === "hbstatus") {
    console.log(`Heartbeat is ${running ? "running" : "stopped"} on this machine.`);
    return running ? 0 : 1;
  }
  const host = Deno.hostname();
  const err = (t: string) =>
    console.error(`${stamp()} ${host} cl_status: [${Deno.pid}]: ERROR: ${t}`);
  err("Cannot signon with heartbeat");
  err(
    running
      ? "REASON: the hb cl_status client is not complete yet"
      : "REASON: hb_api_signon: Can't initiate connection to heartbeat",
  );
  return 1;
}
