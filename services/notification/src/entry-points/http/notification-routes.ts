import {
  authenticate,
  currentUser,
  type Logger,
  parse,
  serviceUnavailable,
  type TokenVerifier,
} from "@shopstream/runtime";
import type { Express, Request, Response } from "express";
import { z } from "zod";
import type { NotificationStore } from "../../domain/ports.js";

export const historyQuery = z.object({ since: z.iso.datetime({ offset: true }).optional() });

/** `GET /notifications`: the caller's history, newest first, optionally only what came after `since`. */
export function notificationRoutes(deps: {
  store: NotificationStore;
  verifier: TokenVerifier;
  logger: Logger;
}) {
  const signedIn = authenticate(deps.verifier);
  return (app: Express) => {
    app.get("/notifications", signedIn, async (req: Request, res: Response) => {
      const { since } = parse(historyQuery, req.query);
      const after = since === undefined ? undefined : Date.parse(since);
      const userId = currentUser(res).id;
      const history = await deps.store.history(userId).catch((err: Error) => {
        deps.logger.warn({ userId, err: err.message }, "could not read a notification history");
        throw serviceUnavailable("The notification history is unavailable right now; try again later");
      });
      const items = history
        .filter((n) => after === undefined || Date.parse(n.at) > after)
        // Events can be consumed out of order (retries, replicas): the answer is ordered by time.
        .sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
      res.json({ items });
    });
  };
}
