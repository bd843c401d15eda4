/**
 * The platform's parts as docs/architecture.md ("The parts") lists them, read from that table
 * rather than from the platform model, so the infra tests check the model against the document a
 * reader sees, not against itself.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const ARCHITECTURE = fileURLToPath(new URL("../../docs/architecture.md", import.meta.url));

type Group = "edge" | "web" | "app" | "data" | "observability";

/** The rows of the first table under `## The parts`: part name and group, in document order. */
export function documentedParts(markdown: string): { part: string; group: Group }[] {
  const section = markdown.split(/^## /m).find((s) => s.startsWith("The parts\n"));
  if (!section) throw new Error("docs/architecture.md has no section `## The parts`");
  const rows = section
    .split("\n")
    .filter((line) => line.startsWith("|"))
    .slice(2) // header and separator
    .map((line) => line.split("|").map((cell) => cell.trim()));
  const groups = new Set<string>(["edge", "web", "app", "data", "observability"]);
  return rows.map(([, part, group]) => {
    if (!part || !/^[a-z]+(-[a-z]+)*$/.test(part) || !group || !groups.has(group))
      throw new Error(`docs/architecture.md, "The parts": cannot read the row of ${JSON.stringify(part)}`);
    return { part, group: group as Group };
  });
}

const PARTS = documentedParts(readFileSync(ARCHITECTURE, "utf8"));
const inGroup = (group: Group) => PARTS.filter((p) => p.group === group).map((p) => p.part);

export const APP_SERVICES = inGroup("app");
export const DATA_STORES = inGroup("data");
export const OBSERVABILITY = inGroup("observability");
/** Every part of the platform, edge first. */
export const DESIGN_PARTS = PARTS.map((p) => p.part);
