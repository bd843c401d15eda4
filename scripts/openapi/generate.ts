/** `npm run openapi`: writes the OpenAPI document, the AsyncAPI document and the client types. */
import { writeFileSync } from "node:fs";
import { CLIENT_TYPES_FILE, OPENAPI_FILE, renderClientTypes, renderOpenApi } from "./document.js";

writeFileSync(OPENAPI_FILE, renderOpenApi());
writeFileSync(CLIENT_TYPES_FILE, await renderClientTypes());
console.log(`wrote ${OPENAPI_FILE} and ${CLIENT_TYPES_FILE}`);
