// Routing, files, reopen/rotation and debug levels of logging/mod.ts (spec §6.1, §5.3).
import { assert, assertEquals, assertMatch, assertThrows } from "../tests/assert.ts";
import {
  checkLogRotation,
  closeLogging,
  configureLogging,
  debug,
  debugEnabled,
  getDebugLevel,
  hbLog,
  log,
  loggingProblems,
  loggingTargets,
  reopenLogs,
  scriptLog,
  scriptTag,
  setDebugLevel,
} from "./mod.ts";

const HEAD = /^\w{3} \d{2} \d{2}:\d{2}:\d{2} testhost heartbeat: \[\d+\]: /;
const PID = Deno.pid;

function lines(path: string): string[] {
  const text = Deno.readTextFileSync(path);
  assert(text.endsWith("\n"), `${path} must end with a newline`);
  return text.slice(0, -1).split("\n");
}

/** Strips the date/host/entity/pid prefix after checking it. */
function bodies(path: string): string[] {
  return lines(path).map((l) => {
    if (l.includes("\t")) return l; // script debugfile line
    if (/^\d{4}\//.test(l)) return l.replace(/^\S+ {2}/, "<date>  ");
    if (!HEAD.test(l)) return l; // continuation of a multi-line message: no prefix
    assert(l.includes(`[${PID}]: `));
    return l.replace(HEAD, "");
  });
}

function setup(extra: Parameters<typeof configureLogging>[0] = {}) {
  const dir = Deno.makeTempDirSync({ prefix: "hb-log-" });
  const logfile = `${dir}/ha-log`;
  const debugfile = `${dir}/ha-debug`;
  configureLogging({
    entity: "heartbeat",
    hostname: "testhost",
    logfile,
    debugfile,
    stderr: false,
    ...extra,
  });
  return { dir, logfile, debugfile };
}

/**
 * Runs `body` with logging configured to fresh files (see {@link setup}), then closes logging and
 * removes the files.
 */
async function withLogFiles(
  extra: Parameters<typeof configureLogging>[0],
  body: (files: ReturnType<typeof setup>) => void | Promise<void>,
): Promise<void> {
  const files = setup(extra);
  try {
    await body(files);
  } finally {
    closeLogging();
    Deno.removeSync(files.dir, { recursive: true });
  }
}

Deno.test("routing: logfile gets everything but debug, debugfile everything", async () => {
  await withLogFiles({}, ({ logfile, debugfile }) => {
    log.warn("node node2: is dead");
    log.debug("notify_world: setting SIGCHLD Handler to SIG_DFL");
    log.info("UDP Broadcast heartbeat started on port 694 (694) interface eth0", { glib: true });
    hbLog("crit", "two\nlines");
    assertEquals(bodies(logfile), [
      "WARN: node node2: is dead",
      "info: glib: UDP Broadcast heartbeat started on port 694 (694) interface eth0",
      "CRIT: two",
      "lines",
    ]);
    assertEquals(bodies(debugfile), [
      "WARN: node node2: is dead",
      "debug: notify_world: setting SIGCHLD Handler to SIG_DFL",
      "info: glib: UDP Broadcast heartbeat started on port 694 (694) interface eth0",
      "CRIT: two",
      "lines",
    ]);
    assertEquals(loggingTargets().logfile, logfile);
    assertEquals(loggingProblems(), []);
  });
});

Deno.test("lines are in the file when the call returns, appended to existing content", () => {
  const dir = Deno.makeTempDirSync({ prefix: "hb-log-" });
  const logfile = `${dir}/ha-log`;
  Deno.writeTextFileSync(logfile, "older line\n");
  configureLogging({ entity: "ipfail", hostname: "testhost", logfile, stderr: false });
  try {
    log.info("one");
    assertEquals(lines(logfile).length, 2);
    log.info("two");
    const all = lines(logfile);
    assertEquals(all[0], "older line");
    assertMatch(all[2], /^\w{3} \d{2} [\d:]{8} testhost ipfail: \[\d+\]: info: two$/);
  } finally {
    closeLogging();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("syslogmsgfmt false in files", async () => {
  await withLogFiles({ syslogmsgfmt: false }, ({ logfile }) => {
    log.info("Configuration validated. Starting heartbeat 3.0.6");
    assertMatch(
      lines(logfile)[0],
      new RegExp(
        `^heartbeat\\[${PID}\\]: \\d{4}/\\d{2}/\\d{2}_\\d{2}:\\d{2}:\\d{2} info: Configuration validated\\. Starting heartbeat 3\\.0\\.6$`,
      ),
    );
  });
});

Deno.test("/dev/null (any case) means no file", () => {
  const before = Deno.statSync("/dev/null");
  configureLogging({ logfile: "/DEV/NULL", debugfile: "/dev/null", stderr: false });
  try {
    log.info("nowhere");
    assertEquals(loggingTargets().logfile, null);
    assertEquals(loggingTargets().debugfile, null);
    const after = Deno.statSync("/dev/null");
    assert(after.isCharDevice && after.ino === before.ino, "/dev/null untouched");
  } finally {
    closeLogging();
  }
});

Deno.test("a file that cannot be opened is reported, not thrown", () => {
  configureLogging({ logfile: "/nonexistent-dir/ha-log", stderr: false });
  try {
    log.info("lost");
    const p = loggingProblems();
    assertEquals(p.length, 1);
    assert(p[0].startsWith("/nonexistent-dir/ha-log: "));
  } finally {
    closeLogging();
  }
});

Deno.test("facility names: none/kern mean no syslog, unknown throws", () => {
  configureLogging({ facility: "none", stderr: false });
  assertEquals(loggingTargets().facility, null);
  configureLogging({ facility: "kern", stderr: false });
  assertEquals(loggingTargets().facility, null);
  assertThrows(
    () => configureLogging({ facility: "local9" }),
    RangeError,
    "Log facility(local9) not valid",
  );
  closeLogging();
});

Deno.test("reopenLogs after logrotate's rename", async () => {
  await withLogFiles({}, ({ logfile, debugfile }) => {
    log.info("A");
    Deno.renameSync(logfile, `${logfile}.1`);
    Deno.renameSync(debugfile, `${debugfile}.1`);
    log.info("B"); // still the old (renamed) file: the descriptor is kept open
    assert(reopenLogs());
    log.info("C");
    assertEquals(bodies(`${logfile}.1`), ["info: A", "info: B"]);
    assertEquals(bodies(logfile), ["info: C"]);
    assertEquals(bodies(debugfile), ["info: C"]);
  });
});

Deno.test("rotation detected by inode change, with the log-rotate line", async () => {
  await withLogFiles({ rotateCheckMs: 0 }, ({ logfile, debugfile }) => {
    log.info("before");
    Deno.renameSync(logfile, `${logfile}.1`);
    Deno.writeTextFileSync(logfile, ""); // logrotate "create"
    Deno.removeSync(debugfile); // and a plain removal
    log.info("after");
    assertEquals(bodies(`${logfile}.1`), ["info: before"]);
    assertEquals(bodies(logfile), [
      `info: log-rotate detected on logfile ${logfile}`,
      `info: log-rotate detected on logfile ${debugfile}`,
      "info: after",
    ]);
    assertEquals(bodies(debugfile), [
      `info: log-rotate detected on logfile ${logfile}`,
      `info: log-rotate detected on logfile ${debugfile}`,
      "info: after",
    ]);
  });
});

Deno.test("rotation is only checked once per interval (default one minute)", async () => {
  await withLogFiles({}, ({ logfile }) => {
    log.info("before");
    Deno.renameSync(logfile, `${logfile}.1`);
    log.info("same file still");
    assertEquals(bodies(`${logfile}.1`), ["info: before", "info: same file still"]);
    checkLogRotation(); // what the minute tick would do
    log.info("new file");
    assertEquals(bodies(logfile), [
      `info: log-rotate detected on logfile ${logfile}`,
      "info: new file",
    ]);
  });
});

Deno.test("debug levels: clamp, gating, lazy text", () => {
  const { dir, debugfile } = setup({ debugLevel: 0 });
  try {
    assertEquals(getDebugLevel(), 0);
    let built = 0;
    debug(1, () => {
      built++;
      return "hidden";
    });
    debug(0, "level zero debug");
    assertEquals(built, 0);
    setDebugLevel(1);
    assert(debugEnabled(1) && !debugEnabled(2));
    debug(1, () => {
      built++;
      return "debug now set to 1 [pid 31278]";
    });
    debug(2, "too detailed");
    assertEquals(built, 1);
    assertEquals(bodies(debugfile), [
      "debug: level zero debug",
      "debug: debug now set to 1 [pid 31278]",
    ]);
    setDebugLevel(300);
    assertEquals(getDebugLevel(), 255);
    setDebugLevel(-3);
    assertEquals(getDebugLevel(), 0);
    configureLogging({ debugLevel: 7, stderr: false });
    assertEquals(getDebugLevel(), 7);
    configureLogging({ stderr: false }); // omitted: unchanged
    assertEquals(getDebugLevel(), 7);
  } finally {
    setDebugLevel(0);
    closeLogging();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("script lines: logfile and debugfile formats (§6.4)", async () => {
  await withLogFiles({}, ({ logfile, debugfile }) => {
    const tag = scriptTag("ResourceManager", 4489);
    scriptLog(tag, "info", "Running /etc/ha.d//resource.d/IPaddr 198.18.30.10/26/eth0 start");
    scriptLog("IPaddr(IPaddr_198.18.30.10)[4607]", null, "INFO: Using calculated netmask");
    scriptLog(tag, "debug", "not at level 0");
    log.info("a cl_log line");
    assertEquals(bodies(logfile), [
      "<date>  ResourceManager(default)[4489]:    info: Running /etc/ha.d//resource.d/IPaddr 198.18.30.10/26/eth0 start",
      "<date>  IPaddr(IPaddr_198.18.30.10)[4607]:    INFO: Using calculated netmask",
      "info: a cl_log line",
    ]);
    const dbg = lines(debugfile);
    assertMatch(
      dbg[0],
      /^ResourceManager\(default\)\[4489\]:\t\d{4}\/\d{2}\/\d{2}_[\d:]{8} info: Running \/etc\/ha\.d\/\/resource\.d\/IPaddr 198\.18\.30\.10\/26\/eth0 start$/,
    );
    assertMatch(
      dbg[1],
      /^IPaddr\(IPaddr_198\.18\.30\.10\)\[4607\]:\t\S+ INFO: Using calculated netmask$/,
    );
    assertEquals(dbg.length, 3);
    assertMatch(
      lines(logfile)[0],
      /^\d{4}\/\d{2}\/\d{2}_\d{2}:\d{2}:\d{2} {2}ResourceManager/,
    );
  });
});

Deno.test("script lines: debugfile skipped when it is the logfile", () => {
  const dir = Deno.makeTempDirSync({ prefix: "hb-log-" });
  const f = `${dir}/ha-log`;
  configureLogging({ hostname: "testhost", logfile: f, debugfile: f, stderr: false });
  try {
    scriptLog("harc(default)[1]", "info", "Running /etc/ha.d//rc.d/status status");
    assertEquals(lines(f).length, 1);
  } finally {
    closeLogging();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("unconfigured process logs to stderr in the file format; setStderr switches", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    // --quiet: only the child's own lines on stderr, even with a cold Deno cache
    args: [
      "run",
      "-A",
      "--quiet",
      new URL("./testdata/default_child.ts", import.meta.url).pathname,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  const got = new TextDecoder().decode(out.stderr).trimEnd().split("\n");
  const head = String.raw`^\w{3} \d{2} \d{2}:\d{2}:\d{2} \S+ heartbeat: \[\d+\]: `;
  assertEquals(got.length, 3, got.join("\n"));
  assertMatch(got[0], new RegExp(head + "WARN: first to stderr$"));
  assertMatch(got[1], new RegExp(head + "info: glib: plugin line$"));
  assertMatch(got[2], new RegExp(head + "debug: debug reaches stderr too$"));
});
