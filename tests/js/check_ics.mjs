// Parse a .ics file with Mozilla's ical.js (an independent second parser) and
// print what sopgen's calendar contract names, as JSON, for tests/test_calendar.py.
//   node tests/js/check_ics.mjs FILE.ics
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

const text = readFileSync(process.argv[2], "utf8");
const calendar = new ICAL.Component(ICAL.parse(text));
const utc = (prop, component) => {
  const value = component.getFirstPropertyValue(prop);
  return value ? value.toString() : null;
};
const events = calendar.getAllSubcomponents("vevent").map((vevent) => {
  const alarms = vevent.getAllSubcomponents("valarm").map((alarm) => {
    const trigger = alarm.getFirstPropertyValue("trigger");
    return {
      action: alarm.getFirstPropertyValue("action"),
      trigger: trigger.toString(),
      trigger_seconds: trigger.toSeconds(),
      description: alarm.getFirstPropertyValue("description"),
    };
  });
  const dtstart = vevent.getFirstPropertyValue("dtstart");
  const dtend = vevent.getFirstPropertyValue("dtend");
  return {
    uid: vevent.getFirstPropertyValue("uid"),
    summary: vevent.getFirstPropertyValue("summary"),
    description: vevent.getFirstPropertyValue("description"),
    dtstart: dtstart.toString(),
    dtend: dtend.toString(),
    dtstart_utc: dtstart.zone === ICAL.Timezone.utcTimezone,
    dtend_utc: dtend.zone === ICAL.Timezone.utcTimezone,
    dtstart_epoch: dtstart.toUnixTime(),
    dtend_epoch: dtend.toUnixTime(),
    dtstamp: utc("dtstamp", vevent),
    sequence: vevent.getFirstPropertyValue("sequence"),
    status: vevent.getFirstPropertyValue("status"),
    transp: vevent.getFirstPropertyValue("transp"),
    alarms,
  };
});
console.log(
  JSON.stringify({
    version: calendar.getFirstPropertyValue("version"),
    prodid: calendar.getFirstPropertyValue("prodid"),
    method: calendar.getFirstPropertyValue("method"),
    calscale: calendar.getFirstPropertyValue("calscale"),
    calname: calendar.getFirstPropertyValue("x-wr-calname"),
    events,
  }),
);
