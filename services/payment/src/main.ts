import { runService } from "@shopstream/runtime";
import { paymentService } from "./service.js";

await runService(paymentService);
