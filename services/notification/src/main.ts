import { runService } from "@shopstream/runtime";
import { notificationService } from "./service.js";

await runService(notificationService);
