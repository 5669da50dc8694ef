/**
 * The lab's OS helpers (`lab/sys.ts`: running commands, reading `/proc`, polling) under the
 * path the tests have always imported.
 *
 * @module
 */

export * from "../../lab/sys.ts";
