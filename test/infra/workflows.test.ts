/**
 * Every workflow under .github/workflows, validated offline by GitHub's own workflow parser
 * (@actions/workflow-parser, which carries the workflow schema), and the state-backend rules
 * every step that runs Pulumi must keep.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from "@actions/workflow-parser";
import { describe, expect, it } from "vitest";

const yamlName = "js-yaml";
const yaml = (await import(yamlName)) as { load(text: string): unknown };

const DIR = ".github/workflows";
const files = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));

// biome-ignore lint/suspicious/noExplicitAny: workflow documents
type Doc = Record<string, any>;

async function problems(name: string, content: string): Promise<string[]> {
  const parsed = parseWorkflow({ name, content }, new NoOperationTraceWriter());
  const errors = parsed.context.errors.getErrors().map((e) => e.message);
  if (errors.length || !parsed.value) return errors;
  const template = await convertWorkflowTemplate(parsed.context, parsed.value);
  return (template.errors ?? []).map((e) => e.Message);
}

/** Steps that run Pulumi, with the env they see (workflow, job and step env merged). */
function pulumiSteps(doc: Doc) {
  return Object.entries(doc.jobs as Doc).flatMap(([job, j]) =>
    (j.steps as Doc[]).flatMap((step, n) => {
      const action = String(step.uses ?? "");
      const runsPulumi = action.startsWith("pulumi/actions") || /(^|\s)pulumi\s/.test(String(step.run ?? ""));
      if (!runsPulumi) return [];
      return [{ where: `${job} step ${n + 1}`, step, env: { ...doc.env, ...j.env, ...step.env } as Doc }];
    }),
  );
}

describe("the workflows", () => {
  it.each(files)("%s is a valid GitHub workflow", async (file) => {
    expect(await problems(file, readFileSync(join(DIR, file), "utf8"))).toEqual([]);
  });

  it("the validator rejects what GitHub would reject", async () => {
    expect(
      await problems("bad.yml", "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    stepz: []\n"),
    ).not.toEqual([]);
    expect(
      await problems(
        "bad.yml",
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub expression, not JavaScript
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ nope( }}\n",
      ),
    ).not.toEqual([]);
  });

  it("select the Pulumi state by PULUMI_BACKEND_URL in every step that runs Pulumi, never by login", () => {
    const project = yaml.load(readFileSync("Pulumi.yaml", "utf8")) as Doc;
    // A project's backend.url outranks `pulumi login` (the action's cloud-url).
    expect(project.backend).toBeUndefined();
    let seen = 0;
    for (const file of files) {
      const doc = yaml.load(readFileSync(join(DIR, file), "utf8")) as Doc;
      for (const { where, step, env } of pulumiSteps(doc)) {
        seen++;
        expect(env.PULUMI_BACKEND_URL, `${file}: ${where}`).toBeTruthy();
        expect(step.with?.["cloud-url"], `${file}: ${where}`).toBeUndefined();
        // A file backend must not depend on the working directory.
        expect(String(env.PULUMI_BACKEND_URL), `${file}: ${where}`).not.toMatch(/^file:\/\/\.\.?\//);
      }
    }
    expect(seen).toBeGreaterThan(4);
  });

  it("never create a shared stack: a deploy or preview that cannot find it stops", () => {
    for (const file of ["deploy-dev.yml", "preview.yml"]) {
      const doc = yaml.load(readFileSync(join(DIR, file), "utf8")) as Doc;
      for (const { where, step } of pulumiSteps(doc))
        expect(step.with?.upsert, `${file}: ${where}`).toBeFalsy();
    }
  });
});
