/**
 * Types of the resource manager (`resources/`). The contract with the built-in agents
 * ({@link ScriptLogger}, {@link Env}, {@link AgentResult}, {@link AgentOptions},
 * {@link BuiltinAgent}) lives in `agents/types.ts`, the lower layer, and is re-exported here.
 *
 * {@link ResourceGroup} is our own input shape until config/'s haresources API is wired in:
 * config's group maps to it as `{ node, line: group.text, key: group.key, resources }`.
 *
 * @module
 */

export type {
  AgentOptions,
  AgentResult,
  BuiltinAgent,
  Env,
  ScriptLogger,
} from "../agents/types.ts";

/** One resource of a group, as ResourceManager splits `name::arg1::arg2` or an IP shorthand. */
export interface ResourceSpec {
  /** As written in haresources (`dummy::alpha::b2`, `198.18.30.10/26/eth0`, `httpd`). */
  spec: string;
  /** Script name (`IPaddr` for an IPv4 shorthand). */
  script: string;
  /** Arguments placed before the action (split on `::`, then on blanks). */
  args: string[];
}

/** A resource group: one logical haresources line. */
export interface ResourceGroup {
  /** Preferred node, lower-cased as ResourceManager does. */
  node: string;
  /** The whole normalised logical line (`node1 198.18.30.10/26/eth0 dummy::alpha`). */
  line: string;
  /** The group's key: the spec of its first resource. */
  key: string;
  /** Resources, left to right. */
  resources: ResourceSpec[];
}

/** The actions ResourceManager runs scripts with. */
export type ResourceAction = "start" | "stop" | "status";
