/** @module people routes (being written). */
import { createRouter } from "../router";

export function peopleRoutes() {
  return createRouter();
}
