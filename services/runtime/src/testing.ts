import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace";
import { adoptTracing, tracingSettings } from "./tracing.js";
import { createProvider, registerGlobals } from "./tracing-sdk.js";

/**
 * Tracing for a test process: every span kept in memory, sampled always, installed before the
 * services start (they then share it). Call once per process.
 */
export function installTestTracing(): InMemorySpanExporter {
  const exporter = new InMemorySpanExporter();
  const provider = createProvider({ ...tracingSettings("test", {}), sampler: "parentbased_always_on" }, [
    new SimpleSpanProcessor({ exporter }),
  ]);
  registerGlobals(provider);
  adoptTracing({ flush: () => provider.forceFlush() });
  return exporter;
}
