import type { Clock } from "../lib/progress";

/**
 * Virtual time from `start` (ms): sleeping advances the clock at once, so minutes of polling
 * take milliseconds; `slept` lists every sleep the code under test asked for.
 */
export function virtualClock(start = 0): Clock & { slept: number[] } {
  let now = start;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}
