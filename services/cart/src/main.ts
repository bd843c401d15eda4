import { runService } from "@shopstream/runtime";
import { cartService } from "./service.js";

await runService(cartService);
