/** `npm run openapi`: writes the OpenAPI document, the AsyncAPI document with its table in docs/events.md, and the client types. */
import { readFileSync, writeFileSync } from "node:fs";
import { ASYNCAPI_FILE, EVENTS_DOC, renderAsyncApi, withEventsTable } from "./asyncapi.js";
import {
  CLIENT_TYPES_FILE,
  OPENAPI_FILE,
  renderClientTypes,
  renderOpenApi,
  SPEC_VERSION,
} from "./document.js";

writeFileSync(OPENAPI_FILE, renderOpenApi());
writeFileSync(ASYNCAPI_FILE, renderAsyncApi(SPEC_VERSION));
writeFileSync(EVENTS_DOC, withEventsTable(readFileSync(EVENTS_DOC, "utf8")));
writeFileSync(CLIENT_TYPES_FILE, await renderClientTypes());
console.log(`wrote ${OPENAPI_FILE}, ${ASYNCAPI_FILE}, the table of ${EVENTS_DOC} and ${CLIENT_TYPES_FILE}`);
