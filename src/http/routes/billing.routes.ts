/** @module billing routes (being written). */
import { createRouter } from "../router";

export function billingRoutes() {
  return createRouter();
}
