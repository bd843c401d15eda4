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

/** A GitHub expression as the workflow file spells it. */
const gh = (expression: string) => `${"$"}{{ ${expression} }}`;

describe("the images workflow (docs/delivery.md)", () => {
  const doc = yaml.load(readFileSync(join(DIR, "images.yml"), "utf8")) as Doc;
  const steps = (job: string) => doc.jobs[job].steps as Doc[];
  const uses = (job: string, action: string) =>
    steps(job).filter((s) => String(s.uses ?? "").startsWith(action));
  const runs = (job: string) =>
    steps(job)
      .map((s) => String(s.run ?? ""))
      .join("\n");

  it("plans the images from the model and the platforms from the dev stack", () => {
    expect(runs("plan")).toContain("images:release -- plan --stack dev");
    expect(doc.jobs.plan.outputs).toEqual({
      images: gh("steps.plan.outputs.images"),
      platforms: gh("steps.plan.outputs.platforms"),
    });
    expect(doc.jobs.build.strategy.matrix).toEqual({
      image: gh("fromJSON(needs.plan.outputs.images)"),
      platform: gh("fromJSON(needs.plan.outputs.platforms)"),
    });
  });

  it("builds each platform with buildx and QEMU from the same Dockerfiles, and checks the OCI labels", () => {
    for (const job of ["build", "publish"]) {
      expect(uses(job, "docker/setup-qemu-action@"), job).toHaveLength(1);
      expect(uses(job, "docker/setup-buildx-action@"), job).toHaveLength(1);
    }
    expect(runs("build")).toContain('images:release -- build "$IMAGE" --platforms "$PLATFORM"');
    expect(runs("build")).toMatch(/org\.opencontainers\.image\.\$label/);
    expect(runs("build")).toContain("for label in source revision created");
    // The labels name the last commit of each image's sources: the history must be there.
    for (const job of ["build", "publish"])
      expect(uses(job, "actions/checkout@")[0]!.with?.["fetch-depth"], job).toBe(0);
  });

  it("keeps a CycloneDX SBOM of every image and platform as an artefact", () => {
    expect(uses("build", "anchore/sbom-action/download-syft@")).toHaveLength(1);
    expect(runs("build")).toContain('-o "cyclonedx-json=sbom/$IMAGE-');
    const upload = uses("build", "actions/upload-artifact@")[0]!;
    expect(upload.with.name).toBe(`sbom-${gh("matrix.image")}-${gh("steps.names.outputs.suffix")}`);
    expect(upload.with["if-no-files-found"]).toBe("error");
  });

  it("fails on fixable high and critical vulnerabilities outside the allowlist", () => {
    const scan = uses("build", "aquasecurity/trivy-action@")[0]!;
    expect(scan.with).toMatchObject({
      "exit-code": "1",
      "ignore-unfixed": true,
      trivyignores: ".trivyignore",
      "image-ref": gh("steps.names.outputs.tag"),
    });
    expect(String(scan.with.severity).split(",").sort()).toEqual(["CRITICAL", "HIGH"]);
  });

  it("pushes and signs only on pushes, with the only write and token permissions there", () => {
    expect(doc.permissions).toEqual({ contents: "read" });
    expect(doc.jobs.build.permissions).toBeUndefined();
    expect(doc.jobs.publish.if).toBe("github.event_name == 'push'");
    expect(doc.jobs.publish.permissions).toEqual({
      contents: "read",
      packages: "write",
      "id-token": "write",
    });
    expect(runs("publish")).toContain(
      `--push --repository "${gh("steps.repo.outputs.path")}" --version "$GITHUB_SHA"`,
    );
    const signing = steps("publish").filter(
      (s) => String(s.run ?? "").includes("cosign sign") || String(s.uses ?? "").startsWith("sigstore/"),
    );
    expect(signing).toHaveLength(2);
    for (const s of signing) expect(s.if).toBe("vars.SIGN_IMAGES == 'true'");
  });

  it("pins every action to a version", () => {
    for (const file of files) {
      const d = yaml.load(readFileSync(join(DIR, file), "utf8")) as Doc;
      for (const [job, j] of Object.entries(d.jobs as Doc))
        for (const s of (j.steps ?? []) as Doc[])
          if (s.uses)
            expect(String(s.uses), `${file}: ${job}`).toMatch(/@(v\d+|\d+\.\d+\.\d+|[0-9a-f]{40})$/);
    }
  });

  it("has e2e run a canary behind the real Traefik and check its share, then roll it back", () => {
    const e2e = yaml.load(readFileSync(join(DIR, "e2e.yml"), "utf8")) as Doc;
    const step = (e2e.jobs["dev-on-docker"].steps as Doc[]).find((s) =>
      String(s.name ?? "").startsWith("A canary"),
    );
    expect(step).toBeDefined();
    expect(step!.run).toContain("pulumi config set --stack dev --path canary.weight 25");
    expect(step!.run).toContain("traefik_service_requests_total");
    expect(step!.run).toContain("pulumi config set --stack dev --path canary.weight 0");
  });
});
