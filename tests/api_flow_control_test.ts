/**
 * Flow control of API clients (issue 11): while the core's send history is too far ahead of the
 * acknowledgements it emits `clients-pause`, the master calls {@link ApiServer.pauseClients}, and
 * the server stops reading client requests until `clients-resume` (Heartbeat's
 * `all_clients_pause` / `all_clients_resume`). A client that signs on meanwhile gets its sign-on
 * answered, then waits too (Heartbeat's `ProcessAnAPIRequest`). Nothing is lost: the held
 * requests are processed, in order, on resume.
 *
 * @module
 */

import { assert, assertEquals } from "./assert.ts";
import { startRig } from "./support/api.ts";
import { ApiClient } from "../api/client.ts";
import { builtinApiAuth } from "./support/fake_api_backend.ts";
import { Message } from "../wire/message.ts";
import { waitFor } from "./testbed/mod.ts";

function sentTypes(sent: { msg: Message }[]): string[] {
  return sent.map((s) => s.msg.get("t") ?? "").filter((t) => t.startsWith("flow-"));
}

Deno.test("API flow control: paused clients are not read; sign-on still works; resume delivers in order", async () => {
  const rig = startRig((backend) => {
    backend.apiauth = builtinApiAuth(backend.haIds, [
      { client: "flowa", uids: [Deno.uid()!], builtin: false },
      { client: "flowb", uids: [Deno.uid()!], builtin: false },
    ]);
  });
  const id = { pid: Deno.pid, uid: Deno.uid()!, gid: Deno.gid()!, node: "wa1" };
  const a = new ApiClient({ ...id, clientId: "flowa" });
  const b = new ApiClient({ ...id, clientId: "flowb" });
  try {
    assert(await a.signon(rig.path), "client flowa signs on");
    await a.sendMessage(Message.fromStrings([["t", "flow-1"]]));
    await waitFor("flow-1 sent", () => sentTypes(rig.backend.sent).includes("flow-1"));

    rig.server.pauseClients();
    assertEquals(rig.server.clientsPaused, true);
    await a.sendMessage(Message.fromStrings([["t", "flow-2"]]));
    await a.sendMessage(Message.fromStrings([["t", "flow-3"]]));
    // a new client during the pause: its sign-on is answered. The server's loop has then run
    // past the moment flow-2 and flow-3 were in a's socket: had it read them, they were sent.
    assert(await b.signon(rig.path), "a client signs on while the others are paused");
    assertEquals(sentTypes(rig.backend.sent), ["flow-1"], "nothing read while paused");
    await b.sendMessage(Message.fromStrings([["t", "flow-4"]]));

    rig.server.resumeClients();
    assertEquals(rig.server.clientsPaused, false);
    await waitFor("held requests processed", () => sentTypes(rig.backend.sent).length === 4);
    const order = sentTypes(rig.backend.sent);
    assertEquals(order.filter((t) => t !== "flow-4"), ["flow-1", "flow-2", "flow-3"]);
    assert(order.includes("flow-4"));
    // after the resume, requests are read at once again
    await a.sendMessage(Message.fromStrings([["t", "flow-5"]]));
    await waitFor("flow-5 sent", () => sentTypes(rig.backend.sent).includes("flow-5"));
  } finally {
    a.close();
    b.close();
    await rig.dispose();
  }
});

Deno.test("API flow control: a paused client that hangs up is removed", async () => {
  const rig = startRig();
  const id = { pid: Deno.pid, uid: Deno.uid()!, gid: Deno.gid()!, node: "wa1" };
  const a = new ApiClient(id);
  try {
    assert(await a.signon(rig.path));
    assertEquals(rig.server.connectionCount, 1);
    rig.server.pauseClients();
    a.close();
    await waitFor("connection closed", () => rig.server.connectionCount === 0);
    rig.server.resumeClients();
  } finally {
    a.close();
    await rig.dispose();
  }
});
