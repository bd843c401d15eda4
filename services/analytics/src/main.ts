import { runService } from "@shopstream/runtime";
import { analyticsService } from "./service.js";

await runService(analyticsService);
