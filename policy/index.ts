import * as docker from "@pulumi/docker";
import {
  PolicyPack,
  type ResourceValidationPolicy,
  type StackValidationPolicy,
  validateResourceOfType,
} from "@pulumi/policy";
import { KUBERNETES_RESOURCE_RULES, KUBERNETES_STACK_RULES } from "./kubernetes";
import { RESOURCE_RULES, type ResourceInputs, STACK_RULES, type TYPES } from "./rules";

/** The resource classes the rules' kinds stand for. */
const CLASSES = {
  container: docker.Container,
  service: docker.Service,
  remoteImage: docker.RemoteImage,
  image: docker.Image,
  volume: docker.Volume,
} satisfies Record<keyof typeof TYPES, unknown>;

const resourcePolicies: ResourceValidationPolicy[] = Object.entries(RESOURCE_RULES).map(([name, rule]) => ({
  name,
  description: rule.description,
  validateResource: rule.appliesTo.map((kind) =>
    validateResourceOfType(CLASSES[kind] as typeof docker.Container, (props, args, reportViolation) => {
      const inputs: ResourceInputs = {
        type: args.type,
        name: args.name,
        props: props as Record<string, unknown>,
      };
      for (const violation of rule.check(inputs)) reportViolation(violation);
    }),
  ),
}));

// Kubernetes rules read any resource's inputs and pick the kinds they apply to themselves.
const kubernetesPolicies: ResourceValidationPolicy[] = Object.entries(KUBERNETES_RESOURCE_RULES).map(
  ([name, rule]) => ({
    name,
    description: rule.description,
    validateResource: (args, reportViolation) => {
      const inputs: ResourceInputs = { type: args.type, name: args.name, props: args.props };
      for (const violation of rule.check(inputs)) reportViolation(violation);
    },
  }),
);

const stackRules = { ...STACK_RULES, ...KUBERNETES_STACK_RULES };
const stackPolicies: StackValidationPolicy[] = Object.entries(stackRules).map(([name, rule]) => ({
  name,
  description: rule.description,
  validateStack: (args, reportViolation) => {
    const resources = args.resources.map((r) => ({ type: r.type, name: r.name, props: r.props }));
    for (const violation of rule.check(resources)) reportViolation(violation);
  },
}));

/**
 * `pulumi preview --policy-pack policy`: the rules of rules.ts, all mandatory. They read a
 * resource's type, name and inputs, exactly what the tests read from the mocked graph.
 */
new PolicyPack("shopstream", {
  enforcementLevel: "mandatory",
  policies: [...resourcePolicies, ...kubernetesPolicies, ...stackPolicies],
});
