import { authenticate, type TokenVerifier, userIdOf } from "@shopstream/runtime";
import type { Express, Request, Response } from "express";
import { parseClientEvent } from "../../domain/client-events.js";
import { type RecordDeps, recordClientEvent } from "../../domain/record.js";

/** `POST /analytics/events`: a client event of the closed set; the token is optional. */
export function analyticsRoutes(deps: { record: RecordDeps; verifier: TokenVerifier }) {
  const maybeSignedIn = authenticate(deps.verifier, { optional: true });
  return (app: Express) => {
    app.post("/analytics/events", maybeSignedIn, async (req: Request, res: Response) => {
      const event = parseClientEvent(req.body);
      await recordClientEvent(deps.record, event.type, userIdOf(res));
      res.status(202).json({ accepted: true, type: event.type });
    });
  };
}
