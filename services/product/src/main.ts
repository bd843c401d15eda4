import { runService } from "@shopstream/runtime";
import { productService } from "./service.js";

await runService(productService);
