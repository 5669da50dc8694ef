/**
 * The testbed of the integration tests: the product's lab (`lab/`, see `lab/README.md`) under
 * the name the tests have always imported. Everything that builds clusters lives in `lab/`;
 * nothing outside `tests/` imports this folder (`tests/layout_test.ts`). Test-only helpers go
 * here, beside the re-export.
 *
 * @module
 */

export * from "../../lab/mod.ts";
