import { describe, expect, it } from "vitest";
import { addDays, addMonths, isoWeekday, localDateOf, localDayBoundaries, startOfLocalDate, zoneOffsetMs } from "../../src/domain/calendar.js";
import { HOUR_MS } from "../../src/domain/time.js";

describe("startOfLocalDate()", () => {
  it("is UTC midnight in UTC", () => {
    expect(startOfLocalDate({ year: 2026, month: 3, day: 8 }, "UTC")).toBe(Date.UTC(2026, 2, 8));
  });

  it("is 05:00Z for 2026-03-08 in New York (EST, before the 02:00 spring-forward)", () => {
    expect(startOfLocalDate({ year: 2026, month: 3, day: 8 }, "America/New_York")).toBe(Date.UTC(2026, 2, 8, 5));
  });

  it("makes 2026-03-08 a 23-hour day in New York", () => {
    const start = startOfLocalDate({ year: 2026, month: 3, day: 8 }, "America/New_York");
    const next = startOfLocalDate({ year: 2026, month: 3, day: 9 }, "America/New_York");
    expect(next).toBe(Date.UTC(2026, 2, 9, 4));
    expect(next - start).toBe(23 * HOUR_MS);
  });

  it("makes 2026-11-01 a 25-hour day in New York (fall back)", () => {
    const start = startOfLocalDate({ year: 2026, month: 11, day: 1 }, "America/New_York");
    const next = startOfLocalDate({ year: 2026, month: 11, day: 2 }, "America/New_York");
    expect(start).toBe(Date.UTC(2026, 10, 1, 4));
    expect(next).toBe(Date.UTC(2026, 10, 2, 5));
    expect(next - start).toBe(25 * HOUR_MS);
  });

  it("is 18:30Z the day before in Kolkata (+05:30)", () => {
    expect(startOfLocalDate({ year: 2026, month: 3, day: 8 }, "Asia/Kolkata")).toBe(Date.UTC(2026, 2, 7, 18, 30));
  });

  it("is 01:00 local (03:00Z) on 2018-11-04 in Sao Paulo, where DST skipped midnight", () => {
    const start = startOfLocalDate({ year: 2018, month: 11, day: 4 }, "America/Sao_Paulo");
    expect(start).toBe(Date.UTC(2018, 10, 4, 3));
    expect(localDateOf(start, "America/Sao_Paulo")).toEqual({ year: 2018, month: 11, day: 4 });
    expect(localDateOf(start - 1, "America/Sao_Paulo")).toEqual({ year: 2018, month: 11, day: 3 });
    // The day before was a normal 24 h; the short day is 23 h.
    expect(start - startOfLocalDate({ year: 2018, month: 11, day: 3 }, "America/Sao_Paulo")).toBe(24 * HOUR_MS);
    expect(startOfLocalDate({ year: 2018, month: 11, day: 5 }, "America/Sao_Paulo") - start).toBe(23 * HOUR_MS);
  });

  it("sees 21:00Z on 2021-10-28 as 00:00 on 2021-10-29 in Amman, an hour before clocks fell back from 01:00 to 00:00", () => {
    expect(localDateOf(Date.UTC(2021, 9, 28, 21), "Asia/Amman")).toEqual({ year: 2021, month: 10, day: 29 });
    expect(localDateOf(Date.UTC(2021, 9, 28, 21) - 1, "Asia/Amman")).toEqual({ year: 2021, month: 10, day: 28 });
    expect(localDateOf(Date.UTC(2021, 9, 28, 22), "Asia/Amman")).toEqual({ year: 2021, month: 10, day: 29 });
  });

  // Regression: where clocks fall back from 01:00 to 00:00 east of UTC, midnight happens twice;
  // the day starts at the first one.
  it("is the first of two midnights when clocks fall back from 01:00 to 00:00 (Amman, 2021-10-29)", () => {
    expect(startOfLocalDate({ year: 2021, month: 10, day: 29 }, "Asia/Amman")).toBe(Date.UTC(2021, 9, 28, 21));
  });

  it("is 13:00Z the day before in Auckland during its summer time (+13:00)", () => {
    expect(startOfLocalDate({ year: 2026, month: 1, day: 1 }, "Pacific/Auckland")).toBe(Date.UTC(2025, 11, 31, 11));
  });
});

describe("zoneOffsetMs()", () => {
  it("gives the offset in force at an instant, east positive", () => {
    expect(zoneOffsetMs(Date.UTC(2026, 2, 8, 6, 59), "America/New_York")).toBe(-5 * HOUR_MS);
    expect(zoneOffsetMs(Date.UTC(2026, 2, 8, 7), "America/New_York")).toBe(-4 * HOUR_MS);
    expect(zoneOffsetMs(Date.UTC(2026, 2, 8), "Asia/Kolkata")).toBe(5.5 * HOUR_MS);
    expect(zoneOffsetMs(Date.UTC(2026, 2, 8, 5, 30, 12, 345), "UTC")).toBe(0);
  });
});

describe("localDateOf()", () => {
  it("gives the date an instant falls on in a zone", () => {
    const at = Date.UTC(2026, 2, 8, 3, 30);
    expect(localDateOf(at, "UTC")).toEqual({ year: 2026, month: 3, day: 8 });
    expect(localDateOf(at, "America/New_York")).toEqual({ year: 2026, month: 3, day: 7 });
    expect(localDateOf(Date.UTC(2026, 11, 31, 19), "Asia/Kolkata")).toEqual({ year: 2027, month: 1, day: 1 });
  });
});

describe("localDayBoundaries()", () => {
  it("lists UTC midnights from the start of the first day to the end of the last", () => {
    const range = { fromMs: Date.UTC(2026, 2, 8, 5, 30), toMs: Date.UTC(2026, 2, 10, 1) };
    expect(localDayBoundaries(range, "UTC")).toEqual([Date.UTC(2026, 2, 8), Date.UTC(2026, 2, 9), Date.UTC(2026, 2, 10), Date.UTC(2026, 2, 11)]);
  });

  it("ends at toMs when the range ends exactly at a midnight", () => {
    const range = { fromMs: Date.UTC(2026, 2, 8), toMs: Date.UTC(2026, 2, 10) };
    expect(localDayBoundaries(range, "UTC")).toEqual([Date.UTC(2026, 2, 8), Date.UTC(2026, 2, 9), Date.UTC(2026, 2, 10)]);
  });

  it("follows the 23-hour and 25-hour days of New York", () => {
    const spring = { fromMs: Date.UTC(2026, 2, 7, 12), toMs: Date.UTC(2026, 2, 9, 12) };
    expect(localDayBoundaries(spring, "America/New_York")).toEqual([
      Date.UTC(2026, 2, 7, 5),
      Date.UTC(2026, 2, 8, 5),
      Date.UTC(2026, 2, 9, 4),
      Date.UTC(2026, 2, 10, 4),
    ]);
    const fall = { fromMs: Date.UTC(2026, 10, 1, 4), toMs: Date.UTC(2026, 10, 2, 5) };
    expect(localDayBoundaries(fall, "America/New_York")).toEqual([Date.UTC(2026, 10, 1, 4), Date.UTC(2026, 10, 2, 5)]);
  });

  it("starts the Sao Paulo day of 2018-11-04 at the end of the midnight gap", () => {
    const range = { fromMs: Date.UTC(2018, 10, 4, 12), toMs: Date.UTC(2018, 10, 5, 12) };
    expect(localDayBoundaries(range, "America/Sao_Paulo")).toEqual([Date.UTC(2018, 10, 4, 3), Date.UTC(2018, 10, 5, 2), Date.UTC(2018, 10, 6, 2)]);
  });

  it("uses half-hour offsets in Kolkata", () => {
    const range = { fromMs: Date.UTC(2026, 2, 8), toMs: Date.UTC(2026, 2, 8, 20) };
    expect(localDayBoundaries(range, "Asia/Kolkata")).toEqual([Date.UTC(2026, 2, 7, 18, 30), Date.UTC(2026, 2, 8, 18, 30), Date.UTC(2026, 2, 9, 18, 30)]);
  });
});

describe("isoWeekday()", () => {
  it.each([
    { date: { year: 2026, month: 3, day: 8 }, weekday: 7 },
    { date: { year: 2026, month: 3, day: 9 }, weekday: 1 },
    { date: { year: 2026, month: 3, day: 14 }, weekday: 6 },
    { date: { year: 2026, month: 1, day: 1 }, weekday: 4 },
    { date: { year: 2024, month: 2, day: 29 }, weekday: 4 },
    { date: { year: 2000, month: 1, day: 1 }, weekday: 6 },
  ])("gives $weekday for $date.year-$date.month-$date.day", ({ date, weekday }) => {
    expect(isoWeekday(date)).toBe(weekday);
  });
});

describe("addDays()", () => {
  it("crosses month and year ends and leap days", () => {
    expect(addDays({ year: 2026, month: 12, day: 31 }, 1)).toEqual({ year: 2027, month: 1, day: 1 });
    expect(addDays({ year: 2027, month: 1, day: 1 }, -1)).toEqual({ year: 2026, month: 12, day: 31 });
    expect(addDays({ year: 2024, month: 2, day: 28 }, 1)).toEqual({ year: 2024, month: 2, day: 29 });
    expect(addDays({ year: 2026, month: 2, day: 28 }, 1)).toEqual({ year: 2026, month: 3, day: 1 });
    expect(addDays({ year: 2026, month: 3, day: 8 }, -7)).toEqual({ year: 2026, month: 3, day: 1 });
    expect(addDays({ year: 2026, month: 3, day: 8 }, 365)).toEqual({ year: 2027, month: 3, day: 8 });
    expect(addDays({ year: 2026, month: 3, day: 8 }, 0)).toEqual({ year: 2026, month: 3, day: 8 });
  });
});

describe("addMonths()", () => {
  it("gives the first day of the month, across year ends in both directions", () => {
    expect(addMonths({ year: 2026, month: 12, day: 15 }, 1)).toEqual({ year: 2027, month: 1, day: 1 });
    expect(addMonths({ year: 2026, month: 1, day: 31 }, 1)).toEqual({ year: 2026, month: 2, day: 1 });
    expect(addMonths({ year: 2026, month: 1, day: 15 }, -1)).toEqual({ year: 2025, month: 12, day: 1 });
    expect(addMonths({ year: 2026, month: 3, day: 8 }, 0)).toEqual({ year: 2026, month: 3, day: 1 });
    expect(addMonths({ year: 2026, month: 3, day: 8 }, 13)).toEqual({ year: 2027, month: 4, day: 1 });
    expect(addMonths({ year: 2026, month: 3, day: 8 }, -15)).toEqual({ year: 2024, month: 12, day: 1 });
  });
});
