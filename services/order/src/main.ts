import { runService } from "@shopstream/runtime";
import { orderService } from "./service.js";

await runService(orderService);
