/**
 * Configuration of hb: `ha.cf`, `authkeys` and `haresources` parsers that
 * behave like Heartbeat 3.0.6, typed results, diagnostics, printers, the
 * `check` command's core, hb.cf and the Pacemaker CIB export.
 *
 * @module
 */
export { type Diagnostic, explainText, heartbeatLines, type Level } from "./diagnostics.ts";
export {
  atoi,
  inetAton,
  inetPton4,
  inetPton6,
  parseBoolean,
  parseTimeMs,
  toUChar,
  toUShort,
} from "./values.ts";
export {
  type DirectiveInfo,
  formatDefaults,
  HEARTBEAT_VERSION,
  OPTION_DIRECTIVES,
  optionDirective,
  PER_TOKEN_MEDIA,
  WHOLE_LINE_DIRECTIVES,
  WHOLE_LINE_MEDIA,
} from "./defaults.ts";
export {
  createFakeSystemView,
  createRealSystemView,
  type FakeFile,
  type FakeSystemSpec,
  type FileInfo,
  type Ipv4Address,
  isExecutable,
  type NetInterface,
  type RealSystemViewOptions,
  type SystemView,
  type UserEntry,
  withRealDir,
} from "./system_view.ts";
export {
  type BcastMedium,
  type Mcast6Medium,
  type McastMedium,
  MEDIA_DESCRIPTIONS,
  type Medium,
  type PingGroupMedium,
  type PingMedium,
  type SerialMedium,
  type Ucast6Medium,
  type UcastMedium,
} from "./media.ts";
export { type HaCfInput, HaCfParser } from "./ha_cf.ts";
export { ALLOWED_VALUES, MAXLINE } from "./ha_cf_directives.ts";
export {
  type ApiAuthEntry,
  type ClientChild,
  type HaCfState,
  type MonitorPolicy,
  type MsgFmt,
  type NodeDecl,
  type OnFail,
  type PacemakerMode,
  type StonithConfig,
  type TestLossOptions,
} from "./types.ts";
export {
  AUTH_METHODS,
  type AuthKey,
  type Authkeys,
  type AuthkeysInput,
  type AuthMethod,
  parseAuthkeys,
} from "./authkeys.ts";
export { type EmitOptions, Reporter } from "./reporter.ts";
export {
  checkHaresources,
  type Haresources,
  type HaresourcesCheckInput,
  isIpShorthand,
  locateScript,
  parseHaresources,
  parseResource,
  type Resource,
  type ResourceGroup,
  resourceManagerLines,
  type ScriptDirs,
} from "./haresources.ts";
export {
  type AutoFailback,
  formatVerbose,
  type HaConfig,
  loadConfig,
  type LoadedConfig,
  type LoadOptions,
  type LoadResult,
  localNodeName,
} from "./load.ts";
export { checkConfigDir, type CheckOptions, type CheckResult } from "./check.ts";
export {
  durationMs,
  HB_CF,
  HB_CF_DIRECTIVES,
  type HbCf,
  type HbCfDirective,
  type HbCfProblem,
  type HbSettings,
  isDuration,
  type ListenAddress,
  type MonitorSetting,
  parseHbCf,
  parseListenAddress,
  readHbCf,
} from "./hb_cf.ts";
export {
  CIB_SCHEMA,
  LOCATION_SCORE,
  mapResource,
  OCF_WRAPPED_SCRIPTS,
  type OperationTiming,
  pacemakerCib,
  type PacemakerExport,
  type PacemakerExportInput,
  type PrimitiveSpec,
  type ScriptLocation,
  STICKINESS_OFF,
  xmlAttr,
  xmlCommentText,
} from "./pacemaker_export.ts";
