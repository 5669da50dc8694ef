/**
 * The `ha.cf` parser and start-up validation of Heartbeat 3.0.6
 * (heartbeat/config.c `parse_config` and `init_config`), reproduced
 * message for message.
 *
 * @module
 */
import {
  initialHaCfState,
  OPTION_DIRECTIVES,
  optionDirective,
  PER_TOKEN_MEDIA,
  WHOLE_LINE_DIRECTIVES,
  WHOLE_LINE_MEDIA,
} from "./defaults.ts";
import {
  ALLOWED_VALUES,
  applyDirective,
  type DirectiveContext,
  directiveRule,
  MAXLINE,
} from "./ha_cf_directives.ts";
import { newTokenMedium, parseLineMedium } from "./media.ts";
import type { Reporter } from "./reporter.ts";
import { isExecutable, type SystemView } from "./system_view.ts";
import type { HaCfState, NodeDecl, PacemakerMode } from "./types.ts";
import { atoi, parseBoolean } from "./values.ts";

const MAXNODE = 100;
const MAXMEDIA = 64;
const WHITESPACE = " \t\n\r\f";
const DELIMS = ", \t\n\r\f";

/** Inputs of {@link HaCfParser}. */
export interface HaCfInput {
  /** File text. */
  text: string;
  /** Path as Heartbeat prints it (`/etc/ha.d//ha.cf`). */
  displayPath: string;
  /** Path used in our explanations. */
  explainPath: string;
  /** Configuration directory as Heartbeat prints it, with trailing slash (`/etc/ha.d/`). */
  displayDir: string;
  /** Lower-cased local node name. */
  nodeName: string;
  /** Resource management requested (false for `-M`). */
  manageResources: boolean;
  /** Initial debug level (`-d` count). */
  debugLevel: number;
  /** Environment. */
  sys: SystemView;
  /** Diagnostic sink. */
  rep: Reporter;
  /** Does `haresources` exist (for the pacemaker warning). */
  haresourcesExists: boolean;
}

const MEDIA_NAMES = [...PER_TOKEN_MEDIA, ...WHOLE_LINE_MEDIA];

function isLegalDirective(name: string): boolean {
  return !!optionDirective(name) || WHOLE_LINE_DIRECTIVES.includes(name) ||
    MEDIA_NAMES.includes(name);
}

function span(s: string, i: number, set: string): number {
  while (i < s.length && set.includes(s[i])) i++;
  return i;
}
function cspan(s: string, i: number, set: string): number {
  while (i < s.length && !set.includes(s[i])) i++;
  return i;
}

/** Splits text into the pieces `fgets(buf, size)` returns, with their 1-based line numbers. */
function fgetsLines(text: string, size: number): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  const max = size - 1;
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const nl = text.indexOf("\n", i);
    const end = nl < 0 ? text.length : nl + 1;
    let j = i;
    while (j < end) {
      const k = Math.min(end, j + max);
      out.push({ text: text.slice(j, k), line });
      j = k;
    }
    i = end;
    line++;
  }
  return out;
}

/** Parser of one ha.cf file; keeps the static-variable state of Heartbeat's setters. */
export class HaCfParser implements DirectiveContext {
  /** Resulting state. */
  readonly st: HaCfState;
  /** True once a medium or whole-line directive was read (Heartbeat's static flag). */
  anyMediaYet = false;
  /** True once `baud` was given (Heartbeat's static flag). */
  baudSet = false;
  private pacemakerCalled = false;
  private latched: { bcast?: number; ucast?: number; ucast6?: number; baud?: number } = {};

  /** Creates a parser. */
  constructor(private readonly inp: HaCfInput) {
    this.st = initialHaCfState(inp.manageResources, inp.debugLevel);
  }

  /** Diagnostic sink. */
  get rep(): Reporter {
    return this.inp.rep;
  }

  /** Environment. */
  get sys(): SystemView {
    return this.inp.sys;
  }

  /** Parses the whole file (parse_config), then adds the built-in apiauth entries. */
  parse(): HaCfState {
    const { rep } = this;
    for (const piece of fgetsLines(this.inp.text, MAXLINE)) {
      let s = piece.text;
      s = s.slice(span(s, 0, WHITESPACE));
      const hash = s.indexOf("#");
      if (hash >= 0) s = s.slice(0, hash);
      const crlf = s.search(/[\r\n]/);
      if (crlf >= 0) s = s.slice(0, crlf);
      if (s === "") continue;
      const dlen = cspan(s, 0, WHITESPACE);
      let directive = s.slice(0, dlen);
      rep.at(this.inp.explainPath, piece.line, directive);
      if (directive === "udp") {
        rep.emit(
          "WARN",
          "WARNING: directive 'udp' replaced by 'bcast'",
          "the directive 'udp' is an obsolete alias",
          "bcast",
          { fatal: false },
        );
        directive = "bcast";
        rep.directive = "bcast";
      }
      if (!isLegalDirective(directive)) {
        rep.emit(
          "ERROR",
          `Illegal directive [${directive}] in ${this.inp.displayPath}`,
          `unknown directive '${directive}' (names are case-sensitive)`,
          "the ha.cf directives of Heartbeat 3.0.6 (see heartbeat -D) and the media bcast mcast mcast6 ucast ucast6 ping ping6 ping_group serial",
        );
        this.st.errors++;
        continue;
      }
      this.st.directiveLines.set(directive, piece.line);
      let rest = s.slice(span(s, dlen, DELIMS));
      if (WHOLE_LINE_MEDIA.includes(directive)) {
        const m = parseLineMedium(directive, rest, this.mediaCtx());
        if (m === undefined) {
          this.st.errors++;
          continue;
        }
        if (m === null) {
          this.st.crashes = true;
          rep.emit(
            "CRIT",
            [],
            `'${directive}' without an interface: Heartbeat 3.0.6 crashes (SIGSEGV, exit 139)`,
            directive === "mcast" ? "mcast IF GROUP PORT TTL LOOP" : "ucast IF PEER",
          );
          continue;
        }
        this.st.media.push(m);
        this.anyMediaYet = true;
        rest = "";
      }
      if (WHOLE_LINE_DIRECTIVES.includes(directive)) {
        if (!this.wholeLine(directive, rest)) this.st.errors++;
        this.anyMediaYet = true;
        continue;
      }
      if (WHOLE_LINE_MEDIA.includes(directive)) continue;
      let i = 0;
      while (i < rest.length) {
        const e = cspan(rest, i, DELIMS);
        const tok = rest.slice(i, e);
        if (!this.addOption(directive, tok)) this.st.errors++;
        i = span(rest, e, DELIMS);
      }
    }
    rep.at(this.inp.explainPath, undefined, "apiauth");
    const builtins: [string, string][] = [
      ["ipfail", "uid=hacluster"],
      ["ccm", "uid=hacluster"],
      ["ping", "gid=haclient"],
      ["lha-snmpagent", "uid=root"],
      ["anon", "uid=root gid=haclient"],
    ];
    for (const [name, spec] of builtins) {
      if (!this.st.apiauth.has(name)) this.apiauth(`${name} ${spec}`, true);
    }
    return this.st;
  }

  private mediaCtx() {
    return {
      sys: this.inp.sys,
      rep: this.rep,
      params: this.st.params,
      latched: this.latched,
      addPingNode: (n: string) => this.addNode(n, "ping"),
    };
  }

  /** Adds a node or ping node; false when the node table is full. */
  addNode(name: string, type: NodeDecl["type"]): boolean {
    if (this.st.nodes.length >= MAXNODE) return false;
    this.st.nodes.push({ name: name.toLowerCase(), type });
    return true;
  }

  /** Our explanation of a value Heartbeat refuses without a message of its own. */
  generic(directive: string, value: string): void {
    this.rep.emit(
      "ERROR",
      [],
      `invalid value '${value}'`,
      ALLOWED_VALUES[directive],
      { fatal: true },
    );
  }

  /**
   * add_option: applies one value of an option directive (or creates a
   * per-token medium). Returns false on failure.
   */
  addOption(name: string, value: string): boolean {
    const info = optionDirective(name);
    if (info) {
      const rule = directiveRule(name);
      const ok = rule !== undefined && applyDirective(rule, this, value);
      if (ok && info.recorded) this.st.params.set(name, value);
      return ok;
    }
    if (PER_TOKEN_MEDIA.includes(name)) {
      if (this.st.media.length >= MAXMEDIA) {
        this.rep.emit(
          "ERROR",
          `Too many media specified (> ${MAXMEDIA})`,
          "too many media",
          "at most 64 media",
        );
        this.rep.follow("info", `Offending command: ${name} ${value}`);
        return false;
      }
      const m = newTokenMedium(name, value, this.mediaCtx());
      if (!m) return false;
      this.st.media.push(m);
      return true;
    }
    return this.refuse(`Illegal configuration directive [${name}]`, `unknown directive ${name}`);
  }

  /** The `pacemaker` setter: the mode, its API authorisations and its client children. */
  pacemaker(value: string): boolean {
    const st = this.st;
    const rep = this.rep;
    if (this.pacemakerCalled) {
      return this.refuse(
        "pacemaker/crm directive used multiple times!",
        "pacemaker/crm given more than once",
        ALLOWED_VALUES.pacemaker,
      );
    }
    this.pacemakerCalled = true;
    rep.emit("info", `Pacemaker support: ${value}`, `pacemaker ${value}`, undefined, {
      fatal: false,
    });
    const v = value.toLowerCase();
    let mode: PacemakerMode;
    if (v === "minimal" || v === "manual") mode = "minimal";
    else if (v === "respawn") mode = "respawn";
    else if (v === "ccm-only") mode = "ccm-only";
    else if (v === "valgrind") {
      mode = "valgrind";
      rep.follow("info", "Enabling Valgrind on selected components");
    } else {
      const b = parseBoolean(value);
      if (b === undefined) {
        this.generic("pacemaker", value);
        return false;
      }
      if (!b) return true;
      mode = "on";
    }
    st.pacemaker = mode;
    st.manageResources = false;
    if (this.inp.haresourcesExists) {
      rep.emit(
        "WARN",
        `File ${this.inp.displayDir}/haresources exists.`,
        "haresources is ignored when pacemaker is enabled",
        undefined,
        {
          fatal: false,
        },
      );
      rep.follow("WARN", "This file is not used because pacemaker is enabled");
    }
    const auths = [
      "cib uid=hacluster",
      "crmd uid=hacluster",
      "stonithd uid=root",
      "stonith-ng uid=root",
      "attrd uid=hacluster",
      "pingd uid=root",
    ];
    for (let j = 0; j < auths.length; j++) {
      if (mode === "minimal" && j === 2) break;
      if (!this.apiauth(auths[j], true)) {
        return this.refuse(`failed: apiauth ${auths[j]}`, "pacemaker's API authorisation failed");
      }
    }
    const crmDir = st.params.get("crm_daemon_dir") ?? "/usr/libexec/pacemaker";
    const spawnsPengine = parseBoolean(st.params.get("crmd_spawns_pengine") ?? "") ?? true;
    const children: [string, string, boolean, boolean][] = [
      ["ccm", "hacluster", false, false],
      ["cib", "hacluster", true, false],
      ["stonithd", "root", true, true],
      ["lrmd", "root", true, false],
      ["attrd", "hacluster", true, true],
      ["pengine", "hacluster", true, true],
      ["crmd", "hacluster", true, false],
    ];
    for (let j = 0; j < children.length; j++) {
      const [cmd, user, crmFirst, skipMinimal] = children[j];
      if (mode === "ccm-only" && j > 0) break;
      if (mode === "minimal" && skipMinimal) continue;
      if (j === 5 && spawnsPengine) continue;
      const dirs = crmFirst
        ? [crmDir, "/usr/libexec/heartbeat", "/usr/lib/heartbeat"]
        : ["/usr/libexec/heartbeat", "/usr/lib/heartbeat"];
      let found: string | undefined;
      for (const d of dirs) {
        rep.emit("debug", `Checking access of: ${d}/${cmd}`, `looking for ${d}/${cmd}`, undefined, {
          fatal: false,
          continuation: true,
        });
        if (isExecutable(this.inp.sys, `${d}/${cmd}`)) {
          found = `${d}/${cmd}`;
          break;
        }
      }
      if (!found) {
        return this.refuse(
          `Failed to add pacemaker client child "${cmd}"`,
          `Pacemaker daemon ${cmd} is not installed`,
          "pacemaker off (hb supports haresources mode only)",
        );
      }
      this.respawn(
        `${user} ${found}${cmd === "lrmd" && !found.startsWith(crmDir) ? " -r" : ""}`,
        j <= 1 || j >= 5,
      );
    }
    return true;
  }

  private wholeLine(directive: string, rest: string): boolean {
    switch (directive) {
      case "apiauth":
        return this.apiauth(rest, false);
      case "respawn":
        return this.respawn(rest, false);
      case "failfast":
        return this.respawn(rest, true);
      case "stonith":
        return this.stonith(rest);
      case "stonith_host":
        return this.stonithHost(rest);
    }
    return false;
  }

  private apiauth(directive: string, builtin: boolean): boolean {
    const rep = this.rep;
    const sys = this.inp.sys;
    const allowed = ALLOWED_VALUES.apiauth;
    const bad = (what: string): false => {
      rep.emit("ERROR", `Invalid apiauth directive [${directive}]`, what, allowed);
      rep.follow("info", [
        "Syntax: apiauth client [uid=uidlist] [gid=gidlist]",
        "Where uidlist is a comma-separated list of uids,",
        "and gidlist is a comma-separated list of gids",
        "One or the other must be specified.",
      ]);
      return false;
    };
    let i = span(directive, 0, WHITESPACE);
    if (i >= directive.length) return bad("missing client name");
    const e = cspan(directive, i, WHITESPACE);
    const client = directive.slice(i, e);
    i = span(directive, e, WHITESPACE);
    // Where each list starts and how long it is, by kind.
    const lists: { uid?: [number, number]; gid?: [number, number] } = {};
    while (i < directive.length) {
      i = span(directive, i, WHITESPACE);
      const kind = directive.startsWith("uid=", i)
        ? "uid"
        : directive.startsWith("gid=", i)
        ? "gid"
        : undefined;
      if (kind !== undefined) {
        if (lists[kind] !== undefined) {
          rep.emit("ERROR", `Duplicate ${kind} list in apiauth`, `${kind}= given twice`, allowed);
          return bad(`${kind}= given twice`);
        }
        const start = i + 4;
        const len = cspan(directive, start, WHITESPACE) - start;
        lists[kind] = [start, len];
        i = start + len;
      } else if (i < directive.length) {
        rep.emit(
          "ERROR",
          "Missing uid or gid in apiauth",
          `unexpected word '${directive.slice(i, cspan(directive, i, WHITESPACE))}'`,
          allowed,
        );
        return bad("each word after the client must start with uid= or gid=");
      }
    }
    if (lists.uid === undefined && lists.gid === undefined) {
      return bad("neither uid= nor gid= given");
    }
    const resolveList = (
      start: number,
      len: number,
      kind: "uid" | "gid",
    ): number[] | undefined => {
      const list = directive.slice(start, start + len);
      const out: number[] = [];
      let p = 0;
      while (p < list.length) {
        let q = list.indexOf(",", p);
        if (q < 0) q = list.length;
        const id = list.slice(p, q);
        let v: number | undefined;
        if (/^[0-9]/.test(id)) v = atoi(id);
        else if (kind === "uid") {
          v = sys.userByName(id)?.uid;
          if (v === undefined) {
            rep.emit("ERROR", `Invalid user id name [${id}]`, `no such user '${id}'`, allowed);
          }
        } else {
          v = sys.groupByName(id);
          if (v === undefined) {
            rep.emit("ERROR", `Invalid group name [${id}]`, `no such group '${id}'`, allowed);
          }
        }
        if (v === undefined) {
          // "%*s" prints the rest of the directive from the list start.
          rep.emit(
            "ERROR",
            `Bad ${kind} list [${directive.slice(start)}]`,
            `bad ${kind} list`,
            allowed,
          );
          return undefined;
        }
        out.push(v);
        p = q;
        while (list[p] === ",") p++;
      }
      return out;
    };
    let uids: number[] | undefined, gids: number[] | undefined;
    if (lists.uid !== undefined) {
      uids = resolveList(...lists.uid, "uid");
      if (!uids) return bad("unknown user");
    }
    if (lists.gid !== undefined) {
      gids = resolveList(...lists.gid, "gid");
      if (!gids) return bad("unknown group");
    }
    if (this.st.apiauth.has(client)) {
      rep.emit(
        "ERROR",
        `Duplicate apiauth directive for API client ${client}: [${directive}]`,
        `client ${client} already has an apiauth entry`,
        allowed,
      );
      return bad("duplicate client");
    }
    this.st.apiauth.set(client, { client, uids, gids, builtin });
    return true;
  }

  private respawn(directive: string, failfast: boolean): boolean {
    const allowed = ALLOWED_VALUES[failfast ? "failfast" : "respawn"];
    const u0 = span(directive, 0, WHITESPACE);
    const u1 = cspan(directive, u0, WHITESPACE);
    const user = directive.slice(u0, u1);
    let c = Math.min(directive.length, u1 + 1);
    c = span(directive, c, WHITESPACE);
    const cmd = directive.slice(c, cspan(directive, c, "\r\n"));
    const path = directive.slice(c, cspan(directive, c, WHITESPACE));
    if (user.length >= 64) {
      return this.refuse(
        "UID specified for client child is too long",
        "user name too long",
        allowed,
      );
    }
    const pw = this.inp.sys.userByName(user);
    if (!pw) {
      return this.refuse(
        `Invalid uid [${user}] specified for client child`,
        `no such user '${user}'`,
        allowed,
      );
    }
    if (!cmd.startsWith("/")) {
      return this.refuse(
        `Client child command [${cmd}] is not full pathname`,
        `command '${cmd}' is not an absolute path`,
        allowed,
      );
    }
    if (!isExecutable(this.inp.sys, path)) {
      return this.refuse(
        `Client child command [${path}] is not executable`,
        `${path} does not exist or is not executable`,
        allowed,
      );
    }
    this.st.clients.push({ user, uid: pw.uid, gid: pw.gid, command: cmd, path, failfast });
    return true;
  }

  private stonithParamsOk(type: string, params: string): boolean {
    // Parse-level approximation of the plugins' set_config_info: every
    // installed type except suicide needs at least one parameter.
    return type === "suicide" || params.trim() !== "";
  }

  /** Reports an ERROR of this line (Heartbeat's text, what is wrong, what is allowed); refuses. */
  private refuse(heartbeat: string | string[], what: string, allowed?: string): false {
    this.rep.emit("ERROR", heartbeat, what, allowed);
    return false;
  }

  /** Heartbeat's checks of a STONITH type word: given and installed. */
  private stonithTypeOk(type: string, allowed: string): boolean {
    if (type === "") {
      return this.refuse("No Stonith type given", "missing STONITH type", allowed);
    }
    if (!this.inp.sys.stonithTypes().includes(type)) {
      return this.refuse(
        `Invalid Stonith type [${type}]`,
        `STONITH type '${type}' is not installed`,
        allowed,
      );
    }
    return true;
  }

  private stonith(rest: string): boolean {
    const allowed = ALLOWED_VALUES.stonith;
    const t0 = span(rest, 0, WHITESPACE);
    const t1 = cspan(rest, t0, WHITESPACE);
    const type = rest.slice(t0, t1);
    if (!this.stonithTypeOk(type, allowed)) return false;
    const f0 = span(rest, t1, WHITESPACE);
    const file = rest.slice(f0, cspan(rest, f0, "\r\n"));
    const content = this.inp.sys.readTextFile(file);
    if (content === undefined) {
      return this.refuse(
        [`glib: Cannot open ${file}`, `Invalid Stonith config file [${file}]`],
        `cannot open ${file}`,
        allowed,
      );
    }
    const params = content.split("\n").find((l) => l.trim() !== "" && !l.trim().startsWith("#")) ??
      "";
    if (!this.stonithParamsOk(type, params)) {
      return this.refuse(
        `Invalid Stonith config file [${file}]`,
        `${file} holds no parameters for ${type}`,
        allowed,
      );
    }
    this.st.stonith = {
      directive: "stonith",
      type,
      configFile: file,
      params: params.trim().split(/\s+/).filter((x) => x),
    };
    return true;
  }

  private stonithHost(rest: string): boolean {
    const allowed = ALLOWED_VALUES.stonith_host;
    const h0 = span(rest, 0, WHITESPACE);
    const h1 = cspan(rest, h0, WHITESPACE);
    if (h1 === h0) {
      return this.refuse("No Stonith hostname argument given", "missing host field", allowed);
    }
    if (h1 - h0 >= 100) {
      return this.refuse("Stonith hostname too long", "host field too long", allowed);
    }
    const host = rest.slice(h0, h1).toLowerCase();
    if (host !== "*" && host !== this.inp.nodeName) return true;
    const t0 = span(rest, h1, WHITESPACE);
    const t1 = cspan(rest, t0, WHITESPACE);
    const type = rest.slice(t0, t1);
    if (!this.stonithTypeOk(type, allowed)) return false;
    const params = rest.slice(span(rest, t1, WHITESPACE));
    if (!this.stonithParamsOk(type, params)) {
      return this.refuse(
        `Invalid Stonith configuration parameter [${rest.slice(t1)}]`,
        `missing parameters for ${type}`,
        allowed,
      );
    }
    this.st.stonith = {
      directive: "stonith_host",
      type,
      host,
      params: params.split(/[ \t\n\r\f]+/).filter((x) => x),
    };
    return true;
  }

  /** Applies the built-in defaults for directives not given (init_config step 4). */
  applyDefaults(): void {
    this.rep.at(this.inp.explainPath, undefined, undefined);
    for (const d of OPTION_DIRECTIVES) {
      if (d.defaultValue === undefined || this.st.params.has(d.name)) continue;
      this.rep.directive = d.name;
      this.addOption(d.name, d.defaultValue);
    }
    this.rep.directive = undefined;
  }
}
