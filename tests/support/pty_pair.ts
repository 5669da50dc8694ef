/**
 * Test helper: a pair of connected pseudo-terminals made by `socat`, each end
 * reachable through a symlink of our choosing (a null-modem cable in software).
 *
 * @module
 */

/** A running `socat` pty pair. */
export interface PtyPair {
  /** Symlink to the first end (a /dev/pts/N device). */
  a: string;
  /** Symlink to the second end. */
  b: string;
  /** socat's pid. */
  pid: number;
  /** Stops socat (idempotent) and waits for it. */
  close(): Promise<void>;
}

/**
 * Starts `socat -d -d pty,raw,echo=0,link=A pty,raw,echo=0,link=B` and waits
 * until both links exist. Throws (the test fails) when socat is missing or
 * does not come up within 5 s.
 */
export async function openPtyPair(a: string, b: string): Promise<PtyPair> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("socat", {
      args: ["-d", "-d", `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    throw new Error(`cannot start socat (apt-get install socat): ${e}`);
  }
  const errText: string[] = [];
  const pump = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) errText.push(dec.decode(chunk));
  })();
  let done = false;
  const status = child.status.then((s) => {
    done = true;
    return s;
  });
  const exists = (p: string) => {
    try {
      Deno.statSync(p);
      return true;
    } catch {
      return false;
    }
  };
  const end = Date.now() + 5000;
  while (!(exists(a) && exists(b))) {
    if (done || Date.now() > end) {
      try {
        child.kill("SIGKILL");
      } catch {
        // gone
      }
      await status;
      await pump;
      throw new Error(`socat pty pair did not come up:\n${errText.join("")}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  // socat logs "starting data transfer loop" once both ptys are open
  while (!errText.join("").includes("starting data transfer loop") && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 20));
  }
  let closed = false;
  return {
    a,
    b,
    pid: child.pid,
    async close() {
      if (closed) return;
      closed = true;
      if (!done) {
        try {
          child.kill("SIGTERM");
        } catch {
          // gone
        }
      }
      await status;
      await pump;
    },
  };
}
