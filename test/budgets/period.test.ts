import { describe, expect, it } from "vitest";
import { periodRange, previousPeriodRange } from "../../src/domain/period.js";

const HOUR = 3_600_000;
const NY = "America/New_York";
/** Cuba moves its clocks at midnight: 2026-03-08 has no 00:00, 2026-11-01 has two. */
const HAVANA = "America/Havana";

/** An instant from an ISO string, so the expected bounds read as the calendar does. */
const at = (iso: string): number => Date.parse(iso);
const range = (from: string, to: string) => ({ fromMs: at(from), toMs: at(to) });
const hoursOf = (r: { fromMs: number; toMs: number }): number => (r.toMs - r.fromMs) / HOUR;

describe("periodRange() in UTC", () => {
  it("gives the UTC day holding an instant", () => {
    expect(periodRange("daily", at("2026-03-10T12:00:00Z"), "UTC")).toEqual(range("2026-03-10T00:00:00Z", "2026-03-11T00:00:00Z"));
  });

  it("gives the ISO week from Monday 00:00 holding an instant", () => {
    // 2026-03-10 is a Tuesday.
    expect(periodRange("weekly", at("2026-03-10T12:00:00Z"), "UTC")).toEqual(range("2026-03-09T00:00:00Z", "2026-03-16T00:00:00Z"));
    // Sunday's last millisecond still belongs to the week that began on Monday.
    expect(periodRange("weekly", at("2026-03-15T23:59:59.999Z"), "UTC")).toEqual(range("2026-03-09T00:00:00Z", "2026-03-16T00:00:00Z"));
  });

  it("starts a new ISO week exactly at Monday 00:00", () => {
    expect(periodRange("weekly", at("2026-03-16T00:00:00Z"), "UTC")).toEqual(range("2026-03-16T00:00:00Z", "2026-03-23T00:00:00Z"));
  });

  it("keeps an ISO week whole across a year end", () => {
    // 2026-12-31 is a Thursday; its week runs Monday 2026-12-28 to Monday 2027-01-04.
    const week = range("2026-12-28T00:00:00Z", "2027-01-04T00:00:00Z");
    expect(periodRange("weekly", at("2026-12-31T12:00:00Z"), "UTC")).toEqual(week);
    expect(periodRange("weekly", at("2027-01-03T23:59:59.999Z"), "UTC")).toEqual(week);
  });

  it("gives the calendar month, ending Jan 31 and starting Feb 1 at the boundary", () => {
    expect(periodRange("monthly", at("2026-01-31T23:59:59.999Z"), "UTC")).toEqual(range("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"));
    const february = periodRange("monthly", at("2026-02-01T00:00:00Z"), "UTC");
    expect(february).toEqual(range("2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"));
    expect(hoursOf(february)).toBe(28 * 24);
  });

  it("gives February 29 days in the leap year 2028", () => {
    const february = periodRange("monthly", at("2028-02-29T12:00:00Z"), "UTC");
    expect(february).toEqual(range("2028-02-01T00:00:00Z", "2028-03-01T00:00:00Z"));
    expect(hoursOf(february)).toBe(29 * 24);
    expect(periodRange("daily", at("2028-02-29T23:59:59.999Z"), "UTC")).toEqual(range("2028-02-29T00:00:00Z", "2028-03-01T00:00:00Z"));
  });

  it("rolls December over into the next year", () => {
    expect(periodRange("monthly", at("2026-12-31T23:59:59.999Z"), "UTC")).toEqual(range("2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"));
  });
});

describe("previousPeriodRange()", () => {
  it("gives the day, week and month before, across month and year ends", () => {
    expect(previousPeriodRange("daily", at("2026-03-01T00:00:00Z"), "UTC")).toEqual(range("2026-02-28T00:00:00Z", "2026-03-01T00:00:00Z"));
    expect(previousPeriodRange("weekly", at("2027-01-04T00:00:00Z"), "UTC")).toEqual(range("2026-12-28T00:00:00Z", "2027-01-04T00:00:00Z"));
    expect(previousPeriodRange("monthly", at("2027-01-15T00:00:00Z"), "UTC")).toEqual(range("2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"));
    expect(previousPeriodRange("monthly", at("2028-03-01T00:00:00Z"), "UTC")).toEqual(range("2028-02-01T00:00:00Z", "2028-03-01T00:00:00Z"));
  });

  it("gives the 23-hour and 25-hour days before the days after the DST changes in New York", () => {
    const spring = previousPeriodRange("daily", at("2026-03-09T12:00:00Z"), NY);
    expect(spring).toEqual(range("2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z"));
    expect(hoursOf(spring)).toBe(23);
    const autumn = previousPeriodRange("daily", at("2026-11-02T12:00:00Z"), NY);
    expect(autumn).toEqual(range("2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z"));
    expect(hoursOf(autumn)).toBe(25);
  });

  it("gives the previous month in New York with its local bounds", () => {
    expect(previousPeriodRange("monthly", at("2026-04-01T04:00:00Z"), NY)).toEqual(range("2026-03-01T05:00:00Z", "2026-04-01T04:00:00Z"));
  });
});

describe("periodRange() in America/New_York", () => {
  it("makes 2026-03-08 (clocks spring forward) a 23-hour day", () => {
    const day = periodRange("daily", at("2026-03-08T12:00:00Z"), NY);
    expect(day).toEqual(range("2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z"));
    expect(hoursOf(day)).toBe(23);
  });

  it("keeps both sides of the skipped hour in the same day", () => {
    // 01:59:59.999 EST and 03:00:00 EDT are one millisecond apart.
    const day = range("2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z");
    expect(periodRange("daily", at("2026-03-08T06:59:59.999Z"), NY)).toEqual(day);
    expect(periodRange("daily", at("2026-03-08T07:00:00Z"), NY)).toEqual(day);
  });

  it("makes 2026-11-01 (clocks fall back) a 25-hour day holding both 01:30s", () => {
    const day = range("2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z");
    expect(periodRange("daily", at("2026-11-01T05:30:00Z"), NY)).toEqual(day); // 01:30 EDT
    expect(periodRange("daily", at("2026-11-01T06:30:00Z"), NY)).toEqual(day); // 01:30 EST
    expect(hoursOf(day)).toBe(25);
  });

  it("makes the ISO week holding 2026-03-08 167 hours long", () => {
    const week = periodRange("weekly", at("2026-03-05T12:00:00Z"), NY);
    expect(week).toEqual(range("2026-03-02T05:00:00Z", "2026-03-09T04:00:00Z"));
    expect(hoursOf(week)).toBe(167);
  });

  it("makes the ISO week holding 2026-11-01 169 hours long", () => {
    const week = periodRange("weekly", at("2026-10-28T12:00:00Z"), NY);
    expect(week).toEqual(range("2026-10-26T04:00:00Z", "2026-11-02T05:00:00Z"));
    expect(hoursOf(week)).toBe(169);
  });

  it("gives March 743 hours and November 721 hours", () => {
    const march = periodRange("monthly", at("2026-03-20T00:00:00Z"), NY);
    expect(march).toEqual(range("2026-03-01T05:00:00Z", "2026-04-01T04:00:00Z"));
    expect(hoursOf(march)).toBe(31 * 24 - 1);
    const november = periodRange("monthly", at("2026-11-20T00:00:00Z"), NY);
    expect(november).toEqual(range("2026-11-01T04:00:00Z", "2026-12-01T05:00:00Z"));
    expect(hoursOf(november)).toBe(30 * 24 + 1);
  });

  it("puts an instant exactly at local midnight in the new day, and the millisecond before in the old one", () => {
    expect(periodRange("daily", at("2026-03-09T04:00:00Z"), NY)).toEqual(range("2026-03-09T04:00:00Z", "2026-03-10T04:00:00Z"));
    expect(periodRange("daily", at("2026-03-09T03:59:59.999Z"), NY)).toEqual(range("2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z"));
    expect(periodRange("monthly", at("2026-04-01T04:00:00Z"), NY)).toEqual(range("2026-04-01T04:00:00Z", "2026-05-01T04:00:00Z"));
    expect(periodRange("monthly", at("2026-04-01T03:59:59.999Z"), NY)).toEqual(range("2026-03-01T05:00:00Z", "2026-04-01T04:00:00Z"));
  });

  it("counts a late record at 23:59:59.999 local in the day of its own timestamp", () => {
    // 2026-03-09 23:59:59.999 EDT, whenever it is looked at.
    const late = at("2026-03-10T03:59:59.999Z");
    expect(periodRange("daily", late, NY)).toEqual(range("2026-03-09T04:00:00Z", "2026-03-10T04:00:00Z"));
    // 2026-03-31 23:59:59.999 EDT belongs to March, not April.
    expect(periodRange("monthly", at("2026-04-01T03:59:59.999Z"), NY)).toEqual(range("2026-03-01T05:00:00Z", "2026-04-01T04:00:00Z"));
  });

  it("uses the zone, not UTC: 02:00Z on a UTC Monday is still Sunday evening of the week before in New York", () => {
    expect(periodRange("weekly", at("2026-03-16T02:00:00Z"), NY)).toEqual(range("2026-03-09T04:00:00Z", "2026-03-16T04:00:00Z"));
  });
});

describe("periodRange() in zones with odd offsets and midnight changes", () => {
  it("follows a half-hour offset (Asia/Kolkata, UTC+05:30)", () => {
    expect(periodRange("daily", at("2026-03-10T12:00:00Z"), "Asia/Kolkata")).toEqual(range("2026-03-09T18:30:00Z", "2026-03-10T18:30:00Z"));
    expect(periodRange("daily", at("2026-03-10T18:30:00Z"), "Asia/Kolkata")).toEqual(range("2026-03-10T18:30:00Z", "2026-03-11T18:30:00Z"));
  });

  it("starts a day whose midnight is skipped (Havana, 2026-03-08) at 01:00 local", () => {
    const day = periodRange("daily", at("2026-03-08T12:00:00Z"), HAVANA);
    expect(day).toEqual(range("2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z"));
    expect(hoursOf(day)).toBe(23);
    expect(periodRange("daily", at("2026-03-08T04:59:59.999Z"), HAVANA)).toEqual(range("2026-03-07T05:00:00Z", "2026-03-08T05:00:00Z"));
  });

  it("starts a day whose midnight happens twice (Havana, 2026-11-01) at the first one", () => {
    const day = periodRange("daily", at("2026-11-01T12:00:00Z"), HAVANA);
    expect(day).toEqual(range("2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z"));
    expect(hoursOf(day)).toBe(25);
    expect(periodRange("daily", at("2026-11-01T03:59:59.999Z"), HAVANA)).toEqual(range("2026-10-31T04:00:00Z", "2026-11-01T04:00:00Z"));
  });
});
