/**
 * HBREAD and HBWRITE worker bodies for UDP media. They move bytes only:
 * a read worker forwards every datagram to the master as a packet frame, a
 * write worker sends every packet frame it gets from the master. Parsing,
 * authentication and all decisions stay in the master.
 *
 * @module
 */

import { SocketError, UdpSocket } from "../sys/inet.ts";
import type { UdpSpec } from "./media_spec.ts";

/** What a worker body reports to the master. */
export interface WorkerPort {
  /** Forwards a received packet to the master. */
  packet(bytes: Uint8Array): void;
  /** Sends a control message to the master. */
  control(value: Record<string, unknown>): void;
  /** Logs a line (priority word, message). */
  log(prio: string, msg: string, glib?: boolean): void;
}

/** Opens the receiving socket of a medium, as Heartbeat's plugins do. */
export function openReader(m: UdpSpec): UdpSocket {
  switch (m.type) {
    case "bcast":
      return UdpSocket.open({ port: m.port, device: m.ifname, reuse: true, broadcast: true });
    case "ucast":
      return UdpSocket.open({ port: m.port, device: m.ifname, reuse: true });
    case "mcast":
      return UdpSocket.open({
        port: m.port,
        bindAddr: m.group,
        reuse: true,
        multicast: { group: m.group, ifaddr: m.ifaddr, ttl: m.ttl, loop: m.loop },
      });
  }
}

/** Opens the sending socket of a medium. */
export function openWriter(m: UdpSpec): UdpSocket {
  switch (m.type) {
    case "bcast":
      return UdpSocket.open({ device: m.ifname, broadcast: true, reuse: true });
    case "ucast":
      return UdpSocket.open({ device: m.ifname, reuse: true, lowDelay: true });
    case "mcast":
      return UdpSocket.open({
        device: m.ifname,
        reuse: true,
        multicast: { group: m.group, ifaddr: m.ifaddr, ttl: m.ttl, loop: m.loop },
      });
  }
}

function destination(m: UdpSpec): [string, number] {
  switch (m.type) {
    case "bcast":
      return [m.broadcast, m.port];
    case "ucast":
      return [m.peer, m.port];
    case "mcast":
      return [m.group, m.port];
  }
}

/** Runs a read worker until the socket fails; resolves when it stops. */
export async function runReader(m: UdpSpec, port: WorkerPort): Promise<void> {
  const sock = openReader(m);
  port.control({ t: "ready" });
  while (true) {
    const d = await sock.receive();
    if (!d) break;
    port.packet(d.bytes);
  }
  sock.close();
}

/** Consecutive write failures after which error lines are suppressed (Heartbeat: 10). */
const SUPPRESS_AFTER = 10;

/**
 * A write worker body: call `send` for every packet frame from the master.
 * Write errors are logged as Heartbeat logs them, suppressed after 10 in a row.
 */
export class Writer {
  #sock: UdpSocket;
  #m: UdpSpec;
  #port: WorkerPort;
  #failures = 0;

  /** Opens the medium's sending socket. */
  constructor(m: UdpSpec, port: WorkerPort) {
    this.#m = m;
    this.#port = port;
    this.#sock = openWriter(m);
  }

  /** Sends one packet to the medium's destination. */
  send(bytes: Uint8Array): void {
    const [addr, p] = destination(this.#m);
    try {
      this.#sock.send(bytes as Uint8Array<ArrayBuffer>, addr, p);
      if (this.#failures > SUPPRESS_AFTER) {
        this.#port.log("info", `write on ${this.#m.type} ${this.#m.ifname} succeeded again.`);
      }
      this.#failures = 0;
    } catch (e) {
      this.#failures++;
      const text = e instanceof SocketError ? e.message.replace(/^sendto: /, "") : String(e);
      if (this.#failures <= SUPPRESS_AFTER) {
        this.#port.log(
          "ERROR",
          `${this.#m.type}_write: Unable to send HBcomm packet ${this.#m.ifname} ${addr}:${p} len=${bytes.length} [-1]: ${text}`,
          true,
        );
        this.#port.log(
          "ERROR",
          `write_child: write failure on ${this.#m.type} ${this.#m.ifname}.: ${text}`,
        );
      }
      if (this.#failures === SUPPRESS_AFTER) {
        this.#port.log("WARN", "Temporarily Suppressing write error messages");
        this.#port.log("WARN", `Is a cable unplugged on ${this.#m.type} ${this.#m.ifname}?`);
      }
    }
  }

  /** Closes the socket. */
  close(): void {
    this.#sock.close();
  }
}
