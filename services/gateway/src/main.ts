import { runService } from "@shopstream/runtime";
import { gatewayService } from "./service.js";

await runService(gatewayService);
