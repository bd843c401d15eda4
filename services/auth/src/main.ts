import { runService } from "@shopstream/runtime";
import { authService } from "./service.js";

await runService(authService);
